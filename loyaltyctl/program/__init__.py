"""Reading the program files: TOML perks, campaigns, earning rules and tiers into domain
specs, with the position of every problem. Pure reading: no database.

- files.py: a set of files read at once (`read_program_files`, `ProgramFiles`) and the
  kinds of table it reads (READERS, one `Reader` subclass each);
- source.py: the files of a set of paths, parsed, and where each key is written;
- reader.py: the `Reader` base; checks.py and media.py: checks the readers share;
- perks.py (with redemptions/, one reader per redemption type), campaigns.py and
  earning.py (rules and tiers): the readers of each kind.
"""
