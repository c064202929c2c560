"""create stores, categories and menus

Revision ID: 3f1a9c2b7d10
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "3f1a9c2b7d10"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stores",
        sa.Column("store_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("store_name", sa.String(100), nullable=False),
        sa.Column("admin_username", sa.String(50), nullable=False, unique=True),
        sa.Column("admin_password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "categories",
        sa.Column("category_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("store_id", sa.BigInteger, sa.ForeignKey("stores.store_id", ondelete="CASCADE"), nullable=False),
        sa.Column("category_name", sa.String(50), nullable=False),
        sa.Column("display_order", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("store_id", "category_name"),
    )
    op.create_index("idx_categories_store_id", "categories", ["store_id"])
    op.create_table(
        "menus",
        sa.Column("menu_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("store_id", sa.BigInteger, sa.ForeignKey("stores.store_id", ondelete="CASCADE"), nullable=False),
        sa.Column("category_id", sa.BigInteger, sa.ForeignKey("categories.category_id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("menu_name", sa.String(100), nullable=False),
        sa.Column("price", sa.Integer, sa.CheckConstraint("price > 0"), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("display_order", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("idx_menus_store_id", "menus", ["store_id"])
    op.create_index("idx_menus_category_id", "menus", ["category_id"])


def downgrade() -> None:
    op.drop_table("menus")
    op.drop_table("categories")
    op.drop_table("stores")
