"""The collector: takes in the edge boxes' events, lets supervisors review flags, keeps the ledger."""
