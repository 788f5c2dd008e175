from binwatch.cli import main

raise SystemExit(main())
