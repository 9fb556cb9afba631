"""Real servers the tests start on loopback: S3-compatible storage and the like."""
