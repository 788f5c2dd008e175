"""Publication to the city's management platform (Art. 25): every event, review and work-order step.

``messages`` records each change as a message in the transaction that makes it, with one delivery
row per target; ``mqtt`` and ``webhooks`` send them; ``dispatch`` drains the queue in one process
at a time. The payloads are ``binwatch.events.platform``.
"""
