"""product certificates (decision number, date, issuing level, stated expiry), season and photo columns

A database seeded with an earlier demo gets the demo's new facts on the same products (same slug and
Vietnamese name): the certificate, season and photo cells of the packaged demo, and the corrected cells listed in
CORRECTED, each only where the database still holds the earlier demo's value, so a cell staff edited is kept.
Other catalogues get empty cells: the department fills them on import.

Revision ID: 0008_product_certificates
Revises: 0008_keeps_uses
"""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources

import sqlalchemy as sa
from alembic import op

revision = "0008_product_certificates"
down_revision = "0008_keeps_uses"
branch_labels = None
depends_on = None

TEXT_COLUMNS = {"certificate_no": 100, "certificate_level": 20, "season_vi": 200, "season_en": 200, "image": 500}
DATE_COLUMNS = ("certified_on", "certificate_expires_on")

# Cells the earlier demo had wrong, with the value it had: Chè xanh Bản Ven is 3★ (S13), the 2024 "4★-level
# score" is not a 4★ decision, nor is it for Mỳ gạo ngũ sắc Hằng Hiếu, which no source gives another rating
# (S5); two descriptions now name their recognition decision (S2/C8).
CORRECTED: dict[str, dict[str, object]] = {
    "che-xanh-ban-ven": {
        "stars": 4,
        "year": 2024,
        "description_vi": "Chè xanh của HTX Thân Trường, bản Ven, xã Xuân Lương. Một nguồn ghi OCOP 3 sao; năm 2024 "
        "sản phẩm đạt điểm mức 4 sao tại Hội đồng OCOP tỉnh và được báo chí gọi là “OCOP 4 sao”.",
        "description_en": "Green tea from the Than Truong cooperative, Ban Ven village, Xuan Luong commune. One "
        "source says 3-star OCOP; in 2024 it scored at the 4-star level at the provincial council and is called "
        "“4-star OCOP” in the press.",
    },
    "my-gao-ngu-sac-hang-hieu": {
        "stars": 4,
        "year": 2024,
        "description_vi": "Mỳ gạo ngũ sắc của HTX Dịch vụ nông nghiệp Hằng Hiếu (TT Chũ), đạt điểm mức 4 sao tại Hội "
        "đồng đánh giá OCOP tỉnh năm 2024.",
        "description_en": "Five-colour rice noodles from the Hang Hieu cooperative in Chu township, scored at the "
        "4-star level by the provincial OCOP council in 2024.",
    },
    "sam-nam-nui-danh-kho": {
        "description_vi": "Sâm nam núi Dành khô của HTX sản xuất và tiêu thụ Sâm nam núi Dành (xã Liên Chung), "
        "OCOP 4 sao năm 2021.",
        "description_en": "Dried Danh Mountain Vietnamese ginseng from the Danh Mountain ginseng cooperative (Lien "
        "Chung commune), 4-star OCOP in 2021.",
    },
    "dua-kim-hoang-hau": {
        "description_vi": "Dưa kim Hoàng Hậu của HTX rau sạch Yên Dũng, OCOP 4 sao năm 2021.",
        "description_en": "Golden Queen melon from the Yen Dung clean-vegetable cooperative, 4-star OCOP in 2021.",
    },
}


def _demo_products() -> dict[str, dict[str, object]]:
    demo = json.loads(resources.files("catalog.data").joinpath("demo_catalog.json").read_text(encoding="utf-8"))
    return {row["slug"]: row for row in demo["products"]}


def _cell(column: str, value: object) -> object:
    if column in DATE_COLUMNS:
        return dt.date.fromisoformat(value) if isinstance(value, str) and value else None
    return value if value is not None else ("" if column in TEXT_COLUMNS else None)


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        for name, length in TEXT_COLUMNS.items():
            batch_op.add_column(sa.Column(name, sa.String(length=length), server_default="", nullable=False))
        for name in DATE_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Date(), nullable=True))

    demo = _demo_products()
    corrected_columns = sorted({c for cells in CORRECTED.values() for c in cells})
    products = sa.table("products", sa.column("id"), sa.column("slug"), sa.column("name_vi"),
                        *(sa.column(c) for c in corrected_columns),
                        *(sa.column(c) for c in TEXT_COLUMNS), *(sa.column(c, sa.Date()) for c in DATE_COLUMNS))
    bind = op.get_bind()
    query = sa.select(products.c.id, products.c.slug, products.c.name_vi,
                      *(products.c[c] for c in corrected_columns))
    for row in bind.execute(query).mappings().all():
        wanted = demo.get(row["slug"])
        if wanted is None or wanted["name_vi"] != row["name_vi"]:
            continue
        values = {c: _cell(c, wanted.get(c)) for c in (*TEXT_COLUMNS, *DATE_COLUMNS)}
        for column, earlier in CORRECTED.get(row["slug"], {}).items():
            if row[column] == earlier:
                values[column] = wanted.get(column)
        if any(v not in ("", None) for v in values.values()):
            bind.execute(products.update().where(products.c.id == row["id"]).values(**values))


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        for name in (*DATE_COLUMNS, *reversed(TEXT_COLUMNS)):
            batch_op.drop_column(name)
