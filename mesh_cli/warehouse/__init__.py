"""A shared warehouse: a role and schemas per domain, and grants compiled from the mesh's access rules.

`model` says what the mesh needs (pure), `dialects` writes it as SQL per warehouse, `postgres` reads
and changes a real server, `guards` applies grants as each domain's build succeeds."""
