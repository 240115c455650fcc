"""Tables, engine, sessions, queries and migrations. Never imports services or cli."""
