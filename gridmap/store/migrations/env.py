"""Alembic environment: runs on the connection and store handed over by ``SQLStore.migrate``."""

from alembic import context

config = context.config
connection = config.attributes["connection"]
context.configure(connection=connection, target_metadata=config.attributes["store"].metadata)
with context.begin_transaction():
    context.run_migrations()
