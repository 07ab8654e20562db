"""The staff console's catalogue page (admins only): upload a CSV, XLSX or JSON file → the dry-run diff (added,
removed, changed field by field, row errors) → Apply; the history of catalogue versions with a rollback (after a
confirm step). Sessions, CSRF and the admin check are the console's own (`staff_page`); the diff, the stale and
hash checks and Apply are catalog/catalog_diff.py's, the same the Telegram staff chat uses.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from catalog import catalog_diff, versions
from catalog import staff_accounts as accounts
from catalog.catalog_diff import UploadRefused
from catalog.importer import ImportFailed
from catalog.models import StaffAccount
from catalog.rollback import rollback_in
from handlers.catalog_upload import REFUSALS, TABLE_LABELS
from locales import N_, Translator

if TYPE_CHECKING:  # the console passes its own guard in (it registers these routes among its own)
    from bot.web.console import Console, Handler

ACTION_LABELS = {"seed": N_("demo catalogue"), "import": N_("import"), "upload": N_("upload"),
                 "rollback": N_("rollback")}
HISTORY_ROWS = 30


def catalog_routes(
    console: Console, staff_page: Callable[..., Callable[[Callable[..., Any]], Handler]]
) -> list[BaseRoute]:
    """/admin/catalog (upload form and history), its upload, apply and rollback actions, behind the console's
    `staff_page` guard (session, CSRF token, admin, audit of refusals)."""

    async def render(
        request: Request,
        session: AsyncSession,
        account: StaffAccount,
        t: Translator,
        data: dict[str, Any],
        status: int = 200,
        **context: Any,
    ) -> Response:
        return console.render(
            request, "catalog.html", t, data, status=status, account=account,
            history=await versions.history(session, HISTORY_ROWS), table_label=lambda n: t._(TABLE_LABELS.get(n, n)),
            action_label=lambda a: t._(ACTION_LABELS[a]) if a in ACTION_LABELS else a,
            shown=catalog_diff.shown, limit_mb=catalog_diff.MAX_UPLOAD_BYTES // (1024 * 1024),
            current_version=await versions.latest_id(session), **context,
        )

    @staff_page(console, admin=True)
    async def catalog_page(
        request: Request, session: AsyncSession, account: StaffAccount, t: Translator, data: dict[str, Any],
        form: FormData | None,
    ) -> Response:
        done = request.query_params.get("applied", "")
        restored = request.query_params.get("restored", "")
        notice = ""
        if done.isdecimal():
            notice = t._("Applied. The catalogue is now version {version}.", version=done)
        elif restored.isdecimal():
            notice = t._("Restored. The catalogue is now version {version}.", version=restored)
        return await render(request, session, account, t, data, notice=notice)

    @staff_page(console, admin=True, upload=True)
    async def upload(
        request: Request, session: AsyncSession, account: StaffAccount, t: Translator, data: dict[str, Any],
        form: FormData | None,
    ) -> Response:
        assert form is not None
        file = form.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            return await render(request, session, account, t, data, status=400, error=t._("Choose a file first."))
        name = Path(file.filename).name[:200]
        if Path(name).suffix.lower() not in catalog_diff.UPLOAD_SUFFIXES:
            return await render(request, session, account, t, data, status=400,
                                error=t._("Upload a .csv, .xlsx or .json file."))
        content = await file.read(catalog_diff.MAX_UPLOAD_BYTES + 1)
        if len(content) > catalog_diff.MAX_UPLOAD_BYTES:
            return await render(request, session, account, t, data, status=413,
                                error=t._("That file is too large: the limit is {mb} MB.",
                                          mb=catalog_diff.MAX_UPLOAD_BYTES // (1024 * 1024)))
        fmt = "ocopvietnam" if form.get("format") == "ocopvietnam" else None
        result = await catalog_diff.keep_upload(session, content, name, actor=account.username, channel="console",
                                                fmt=fmt)
        accounts.audit(session, account, "catalog_diff", name,
                       {"sha256": result.sha256, "errors": len(result.errors), "upload": result.upload_id},
                       address=_address(request))
        return await render(request, session, account, t, data, status=200 if result.ok else 422, preview=result)

    @staff_page(console, admin=True)
    async def apply(
        request: Request, session: AsyncSession, account: StaffAccount, t: Translator, data: dict[str, Any],
        form: FormData | None,
    ) -> Response:
        assert form is not None
        upload_id = str(form.get("upload", ""))
        digest = str(form.get("sha256", ""))
        if not upload_id.isdecimal():
            return await render(request, session, account, t, data, status=400, error=t._(REFUSALS["unknown"]))
        try:
            report = await catalog_diff.apply_upload(session, int(upload_id), digest, actor=account.username)
        except UploadRefused as refused:
            accounts.audit(session, account, "catalog_apply_refused", upload_id, {"why": refused.reason},
                           address=_address(request))
            return await render(request, session, account, t, data, status=409,
                                error=t._(REFUSALS.get(refused.reason, REFUSALS["unknown"])))
        accounts.audit(session, account, "catalog_applied", upload_id, {"version": report.version_id},
                       address=_address(request))
        return RedirectResponse(f"/admin/catalog?applied={report.version_id or ''}", 303)

    @staff_page(console, admin=True)
    async def rollback_confirm(
        request: Request, session: AsyncSession, account: StaffAccount, t: Translator, data: dict[str, Any],
        form: FormData | None,
    ) -> Response:
        version = _version_of(request)
        line = await versions.version_line(session, version)
        if line is None:
            return await render(request, session, account, t, data, status=404,
                                error=t._("There is no catalogue version {version}.", version=version))
        return await render(request, session, account, t, data, confirm=line)

    @staff_page(console, admin=True)
    async def rollback(
        request: Request, session: AsyncSession, account: StaffAccount, t: Translator, data: dict[str, Any],
        form: FormData | None,
    ) -> Response:
        version = _version_of(request)
        try:
            report = await rollback_in(session, version, actor=account.username)
        except versions.NoSuchVersion:
            return await render(request, session, account, t, data, status=404,
                                error=t._("There is no catalogue version {version}.", version=version))
        except ImportFailed:
            return await render(request, session, account, t, data, status=409,
                                error=t._("Version {version} cannot be restored.", version=version))
        accounts.audit(session, account, "catalog_rollback", str(version), {"version": report.version_id},
                       address=_address(request))
        if report.version_id is None:
            return await render(request, session, account, t, data,
                                notice=t._("The catalogue is already as it was at version {version}.",
                                           version=version))
        return RedirectResponse(f"/admin/catalog?restored={report.version_id}", 303)

    return [
        Route("/admin/catalog", catalog_page, methods=["GET"]),
        Route("/admin/catalog/upload", upload, methods=["POST"]),
        Route("/admin/catalog/apply", apply, methods=["POST"]),
        Route("/admin/catalog/rollback/{version:int}", rollback_confirm, methods=["GET"]),
        Route("/admin/catalog/rollback/{version:int}", rollback, methods=["POST"]),
    ]


def _version_of(request: Request) -> int:
    return int(request.path_params["version"])


def _address(request: Request) -> str:
    return request.client.host if request.client else ""
