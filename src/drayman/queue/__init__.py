"""The engine: job commands, the scheduler, one HTTP transfer, retries, rate limits."""
