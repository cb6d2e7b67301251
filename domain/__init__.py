"""The SocialGov model: aggregates, events, value objects and pure policies. No I/O, no clock reads."""
