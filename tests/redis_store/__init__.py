"""Tests of the Redis approval store against real redis-server processes."""
