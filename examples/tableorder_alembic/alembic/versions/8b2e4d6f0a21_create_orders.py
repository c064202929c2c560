"""create orders

Revision ID: 8b2e4d6f0a21
Revises: 3f1a9c2b7d10
"""
import sqlalchemy as sa
from alembic import op

revision = "8b2e4d6f0a21"
down_revision = "3f1a9c2b7d10"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("order_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("store_id", sa.BigInteger, sa.ForeignKey("stores.store_id", ondelete="CASCADE"), nullable=False),
        sa.Column("menu_id", sa.BigInteger, sa.ForeignKey("menus.menu_id"), nullable=False),
        sa.Column("quantity", sa.Integer, sa.CheckConstraint("quantity > 0"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="pending"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("idx_orders_store_id_created_at", "orders", ["store_id", "created_at"])


def downgrade() -> None:
    op.drop_table("orders")
