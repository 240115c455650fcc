"""Reading the program files: TOML perks, campaigns, earning rules and tiers into
domain specs, with the position of every problem. Pure reading: no database."""
