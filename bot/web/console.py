"""The staff console: the department's desk in a browser (server-rendered Jinja2, no front-end build).

`console_routes(db, settings)` returns Starlette routes to mount in any application (the shared web app, or
`ocop-bot web`'s own in bot/web/server.py). They need no middleware: the session is a signed cookie read and
written here (itsdangerous; HttpOnly, SameSite=Lax, an 8-hour lifetime, Secure with OCOP_WEB_SECURE_COOKIES),
every POST carries the session's CSRF token, and every action checks the account on the server and is
written to the audit log. The lead rules themselves live in catalog/ (desk.py, leads.py, deadlines.py), the
same the Telegram staff chat uses.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.config import Settings
from bot.web import catalog_upload
from bot.web.insights_page import insights_routes
from bot.web.map_taps import map_tap_routes
from catalog import deadlines, desk
from catalog import leads as lead_book
from catalog import staff_accounts as accounts
from catalog.catalog_diff import MAX_UPLOAD_BYTES as MAX_FILE_BYTES
from catalog.db import Database
from catalog.leads import ACTIONS, STATUS_LABELS, TransitionRefused
from catalog.models import CannedReply, Lead, OutboxMessage, Product, RoutingRule, StaffAccount, utcnow
from catalog.validation import display_phone
from handlers import staff as staff_desk
from handlers.cards import CATEGORY_NAMES
from handlers.messages import reply_to_json
from locales import N_, Translator, normalise_language, translator

COOKIE = "ocop_desk"
SESSION_HOURS = 8
MAX_FORM_BYTES = 64 * 1024
MAX_UPLOAD_BYTES = MAX_FILE_BYTES
TEMPLATES = Path(__file__).parent / "templates"

CATEGORY_LABELS = CATEGORY_NAMES
EVENT_LABELS = staff_desk.EVENT_LABELS
DEADLINE_LABELS = {"claim": N_("claim overdue"), "first_reply": N_("first reply overdue")}

Handler = Callable[[Request], Awaitable[Response]]


class Refused(Exception):
    """An request the console does not serve: status code and a message key for the page."""

    def __init__(self, status: int, message: str, account: StaffAccount | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.account = account  # signed in, but not allowed this: the page keeps its menu


class Console:
    """The console's state: the database, settings, templates, the cookie signer, the outbox hook."""

    def __init__(self, db: Database, settings: Settings, notify: Callable[[], None] | None = None) -> None:
        if settings.web_secret is None or len(settings.web_secret.get_secret_value()) < 32:
            raise ValueError("OCOP_WEB_SECRET must be set to at least 32 random characters")
        self.db = db
        self.settings = settings
        self.notify = notify
        self.signer = URLSafeTimedSerializer(settings.web_secret.get_secret_value(), salt="ocop-desk-session")
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    # --- the session cookie

    def read_cookie(self, request: Request) -> dict[str, Any]:
        raw = request.cookies.get(COOKIE, "")
        if not raw:
            return {}
        try:
            data = self.signer.loads(raw, max_age=SESSION_HOURS * 3600)
        except BadSignature:  # forged, altered, or expired (SignatureExpired is a BadSignature)
            return {}
        return data if isinstance(data, dict) else {}

    def set_cookie(self, response: Response, data: dict[str, Any]) -> None:
        response.set_cookie(
            COOKIE,
            self.signer.dumps(data),
            max_age=SESSION_HOURS * 3600,
            httponly=True,
            samesite="lax",
            secure=self.settings.web_secure_cookies,
            path="/",
        )

    async def account(self, session: AsyncSession, data: dict[str, Any]) -> StaffAccount | None:
        """The signed-in account: the cookie's id and generation must match an active account."""
        account_id, generation = data.get("a"), data.get("g")
        if not isinstance(account_id, int) or not isinstance(generation, int):
            return None
        account = await session.get(StaffAccount, account_id)
        if account is None or not account.active or account.session_generation != generation:
            return None
        return account

    # --- pages

    def render(
        self,
        request: Request,
        name: str,
        t: Translator,
        data: dict[str, Any],
        status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        page = self.env.get_template(name).render(
            _=t._,
            n_=t.n_,
            t=t,
            csrf=data.get("c", ""),
            path=request.url.path,
            status_label=self.status_label(t),
            category_label=lambda c: t._(CATEGORY_LABELS[c]) if c in CATEGORY_LABELS else c,
            **context,
        )
        response = HTMLResponse(page, status_code=status)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'"
        )
        return response

    @staticmethod
    def status_label(t: Translator) -> Callable[[str], str]:
        return lambda status: lead_book.status_label(status, t)


T = TypeVar("T")

async def _posted_row(session: AsyncSession, model: type[T], value: object) -> T | None:
    """The row a form names by id; None for anything but an id a database integer can hold (a forged
    "99999999999999999999" would otherwise reach the database and fail there)."""
    text = str(value or "")
    if not (text.isdecimal() and 0 < int(text) < 2**31):
        return None
    return await session.get(model, int(text))


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


def _language_of(request: Request) -> str:
    wanted = request.query_params.get("lang") or request.headers.get("accept-language", "")[:2]
    return normalise_language(wanted) or "vi"


async def _form(request: Request) -> FormData:
    if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
        raise Refused(413, "too_large")
    return await request.form(max_files=0, max_fields=50)


async def _upload_form(request: Request) -> FormData:
    if int(request.headers.get("content-length") or 0) > MAX_UPLOAD_BYTES + MAX_FORM_BYTES:
        raise Refused(413, "too_large")
    return await request.form(max_files=1, max_fields=10)


def staff_page(
    console: Console, admin: bool = False, *, upload: bool = False
) -> Callable[[Callable[..., Awaitable[Response]]], Handler]:
    """A page or action for signed-in staff (admins only when `admin`): a POST must carry the CSRF token.
    `upload`: the POST is a multipart form with one file of up to MAX_UPLOAD_BYTES (the catalogue upload)."""

    def wrap(handler: Callable[..., Awaitable[Response]]) -> Handler:
        async def endpoint(request: Request) -> Response:
            data = console.read_cookie(request)
            form: FormData | None = None
            language: str | None = None
            try:
                if request.method == "POST":
                    form = await (_upload_form(request) if upload else _form(request))
                refusal: Refused | None = None
                # A refusal's audit line is committed: the block ends normally, then the refusal is raised.
                async with console.db.session() as session:
                    account = await console.account(session, data)
                    if account is None:
                        if request.method == "GET":
                            return RedirectResponse(
                                "/login?" + urlencode({"next": request.url.path}), 303
                            )
                        accounts.audit(
                            session,
                            None,
                            "refused",
                            request.url.path,
                            {"why": "no session"},
                            address=_address(request),
                        )
                        refusal = Refused(403, "no_session")
                    else:
                        language = account.language
                        token = str(form.get("csrf_token", "")) if form is not None else ""
                        if form is not None and not (
                            token and hmac.compare_digest(token, str(data.get("c", "")))
                        ):
                            accounts.audit(
                                session,
                                account,
                                "refused",
                                request.url.path,
                                {"why": "bad csrf token"},
                                address=_address(request),
                            )
                            refusal = Refused(403, "bad_csrf", account)
                        elif admin and not account.is_admin:
                            accounts.audit(
                                session,
                                account,
                                "refused",
                                request.url.path,
                                {"why": "not admin"},
                                address=_address(request),
                            )
                            refusal = Refused(403, "not_admin", account)
                        else:
                            t = translator(account.language)
                            return await handler(request, session, account, t, data, form)
                raise refusal
            except Refused as refused:
                return _refusal(console, request, refused, data, language)

        return endpoint

    return wrap


def console_routes(
    db: Database, settings: Settings, notify: Callable[[], None] | None = None
) -> list[BaseRoute]:
    """The console's routes. `notify` wakes this process's delivery worker after a reply is queued."""
    console = Console(db, settings, notify)

    def page(admin: bool = False) -> Callable[[Callable[..., Awaitable[Response]]], Handler]:
        return staff_page(console, admin)

    # --- signing in and out

    async def login_page(request: Request) -> Response:
        data = console.read_cookie(request)
        if not data.get("c"):
            data = {"c": secrets.token_urlsafe(24)}
        t = translator(_language_of(request))
        response = console.render(
            request, "login.html", t, data, next=_safe_next(request.query_params.get("next"))
        )
        console.set_cookie(response, data)
        return response

    async def login(request: Request) -> Response:
        data = console.read_cookie(request)
        t = translator(_language_of(request))
        try:
            form = await _form(request)
        except Refused as refused:
            return _refusal(console, request, refused, data)
        token = str(form.get("csrf_token", ""))
        if not token or not hmac.compare_digest(token, str(data.get("c", ""))):
            return _refusal(console, request, Refused(403, "bad_csrf"), data)
        username, password = str(form.get("username", ""))[:100], str(form.get("password", ""))
        async with console.db.session() as session:
            result = await accounts.sign_in(session, username, password, _address(request))
            if result.account is not None:
                fresh = {
                    "a": result.account.id,
                    "g": result.account.session_generation,
                    "c": secrets.token_urlsafe(24),
                }  # a new token once signed in
                response = RedirectResponse(_safe_next(str(form.get("next", ""))) or "/leads", 303)
                console.set_cookie(response, fresh)
                return response
        error = (
            t._(
                "Too many failed sign-ins. Wait {minutes} minutes and try again.",
                minutes=int(accounts.FAILURE_WINDOW.total_seconds() // 60),
            )
            if result.throttled
            else t._("Wrong username or password.")
        )
        return console.render(
            request,
            "login.html",
            t,
            data,
            status=429 if result.throttled else 401,
            error=error,
            username=username,
            next=_safe_next(str(form.get("next", ""))),
        )

    @page()
    async def logout(
        request: Request,
        session: AsyncSession,
        account: StaffAccount,
        t: Translator,
        data: dict[str, Any],
        form: FormData | None,
    ) -> Response:
        account.session_generation += 1  # this cookie, and any copy of it, stops working
        accounts.audit(session, account, "logout", account.username, address=_address(request))
        response = RedirectResponse("/login", 303)
        response.delete_cookie(COOKIE, path="/")
        return response

    # --- the inbox

    @page()
    async def inbox(
        request: Request,
        session: AsyncSession,
        account: StaffAccount,
        t: Translator,
        data: dict[str, Any],
        form: FormData | None,
    ) -> Response:
        q = request.query_params
        assignee = q.get("assignee", "")
        wanted = desk.InboxFilter(
            status=q.get("status", "") if q.get("status", "") in (*STATUS_LABELS, "open") else "",
            assignee=str(account.id)
            if assignee == "me"
            else assignee
            if assignee == "none" or assignee.isdecimal()
            else "",
            product_group=q.get("group", "")[:20],
            district=q.get("district", "")[:100],
            overdue=q.get("overdue") == "1",
            page=int(q.get("page", "1")) if q.get("page", "1").isdecimal() else 1,
        )
        hours = await deadlines.load_hours(session)
        late = await deadlines.overdue_ids(session, hours)
        found = await desk.inbox(session, wanted, overdue_ids=late)
        groups, districts = await desk.filter_choices(session)
        staff = await accounts.list_accounts(session)
        names = {a.id: a.username for a in staff}
        now = utcnow()
        rows = [
            {
                "lead": lead,
                "products": ", ".join(
                    lead_book.product_label(p, t.language, quantity=False) for p in lead.products or []
                ),
                "quantity": lead_book.format_quantity(lead.quantity, t),
                "buyer": lead.buyer_name or lead.organisation,
                "phone": display_phone(lead.phone) if lead.phone else "",
                "assignee": names.get(lead.assignee_id or 0, ""),
                "overdue": [t._(DEADLINE_LABELS[d]) for d in deadlines.overdue(lead, hours, now)],
                "received": t.datetime(lead.created_at),
            }
            for lead in found.leads
        ]
        query = {k: v for k, v in q.items() if k != "page"}
        return console.render(
            request,
            "inbox.html",
            t,
            data,
            account=account,
            rows=rows,
            page=found,
            filters=q,
            staff=staff,
            groups=groups,
            districts=districts,
            statuses=list(STATUS_LABELS),
            query=urlencode(query),
            overdue_count=len(late),
        )

    # --- one lead

    async def _lead(session: AsyncSession, request: Request) -> Lead:
        lead = await desk.find_by_ref(session, request.path_params["ref"])
        if lead is None:
            raise Refused(404, "no_lead")
        return lead

    @page()
    async def lead_page(
        request: Request,
        session: AsyncSession,
        account: StaffAccount,
        t: Translator,
        data: dict[str, Any],
        form: FormData | None,
    ) -> Response:
        lead = await _lead(session, request)
        done = request.query_params.get("done", "")
        return await _render_lead(
            request, session, account, t, data, lead, notice=t._(DONE[done]) if done in DONE else ""
        )

    async def _render_lead(
        request: Request,
        session: AsyncSession,
        account: StaffAccount,
        t: Translator,
        data: dict[str, Any],
        lead: Lead,
        *,
        notice: str = "",
        error: str = "",
        status: int = 200,
    ) -> Response:
        staff = await accounts.list_accounts(session)
        names = {a.id: a.username for a in staff}
        events = await lead_book.lead_events(session, lead)
        canned = (await session.scalars(select(CannedReply).order_by(CannedReply.title))).all()
        hours = await deadlines.load_hours(session)
        timeline = [
            {
                "when": t.datetime(e.created_at),
                "who": t._("the buyer") if e.action == "created" else e.actor_name or e.actor_id,
                "what": t._(EVENT_LABELS.get(e.action, e.action)),
                "action": e.action,
                "note": e.note,
                "change": (
                    f"{lead_book.status_label(e.from_status, t)} → {lead_book.status_label(e.to_status, t)}"
                    if e.from_status and e.from_status != e.to_status
                    else ""
                ),
            }
            for e in events
        ]
        buyer_t = translator(lead.language)
        unreachable = lead.anonymised_at is None and any(e.action == "unreachable" for e in events)
        due = {d: t.datetime(hours.due(lead, d)) for d in deadlines.DEADLINES if not deadlines.met(lead, d)}
        return console.render(
            request,
            "lead.html",
            t,
            data,
            status=status,
            account=account,
            lead=lead,
            staff=staff,
            assignee=names.get(lead.assignee_id or 0, ""),
            timeline=timeline,
            notice=notice,
            error=error,
            products=[
                lead_book.product_label(p, t.language, quantity=len(lead.products or []) > 1)
                for p in lead.products or []
            ],
            quantity=lead_book.format_quantity(lead.quantity, t),
            time_frame=lead_book.time_frame_label(lead.time_frame, t),
            phone=display_phone(lead.phone) if lead.phone else "",
            received=t.datetime(lead.created_at),
            actions=[a for a, (_, allowed) in ACTIONS.items() if lead.status in allowed and a != "claim"],
            can_claim=lead.status == "new",
            action_labels={a: _without_icon(t._(staff_desk.ACTION_LABELS[a])) for a in ACTIONS},
            canned=[{"id": c.id, "title": c.title, "text": fill_canned(c, lead, buyer_t)} for c in canned],
            due=due,
            unreachable=unreachable,
            overdue=[t._(DEADLINE_LABELS[d]) for d in deadlines.overdue(lead, hours)],
            channel=t._(staff_desk.CHANNEL_NAMES.get(lead.channel, lead.channel)),
            buyer_language=t._(staff_desk.LANGUAGE_NAMES.get(lead.language, lead.language)),
        )

    def lead_action(handler: Callable[..., Awaitable[str]]) -> Handler:
        """A POST on /leads/{ref}/…: run it, audit it, update the card in the staff chat, show the lead again."""

        @page()
        async def endpoint(
            request: Request,
            session: AsyncSession,
            account: StaffAccount,
            t: Translator,
            data: dict[str, Any],
            form: FormData | None,
        ) -> Response:
            assert form is not None
            lead = await _lead(session, request)
            actor = desk.Actor.of_account(account)
            name = handler.__name__
            try:
                notice = await handler(session, lead, actor, form, t)
            except (desk.DeskRefused, TransitionRefused) as refused:
                if isinstance(refused, TransitionRefused):
                    await session.refresh(lead)
                    error = staff_desk._refused_notice(t, refused)
                else:
                    error = t._(REFUSALS.get(refused.reason, REFUSALS["invalid"]))
                accounts.audit(
                    session, account, name + "_refused", lead.ref or "", {"why": refused.reason},
                    address=_address(request),
                )
                return await _render_lead(request, session, account, t, data, lead, status=409, error=error)
            accounts.audit(
                session, account, name, lead.ref or "", {"status": lead.status}, address=_address(request)
            )
            await _update_card(session, lead, console)
            return RedirectResponse(f"/leads/{lead.ref}?" + urlencode({"done": notice}), 303)

        return endpoint

    async def claim(
        session: AsyncSession, lead: Lead, actor: desk.Actor, form: FormData, t: Translator
    ) -> str:
        return await _change(session, lead, actor, "claim", console)

    async def status(
        session: AsyncSession, lead: Lead, actor: desk.Actor, form: FormData, t: Translator
    ) -> str:
        action = str(form.get("action", ""))
        if action not in ACTIONS:
            raise desk.DeskRefused("invalid")
        return await _change(session, lead, actor, action, console)

    async def assign(
        session: AsyncSession, lead: Lead, actor: desk.Actor, form: FormData, t: Translator
    ) -> str:
        wanted = str(form.get("assignee", ""))
        target = None
        if wanted:
            target = await _posted_row(session, StaffAccount, wanted)
            if target is None or not target.active:
                raise desk.DeskRefused("invalid")
        await desk.assign(session, lead, target, actor)
        return "assigned"

    async def note(
        session: AsyncSession, lead: Lead, actor: desk.Actor, form: FormData, t: Translator
    ) -> str:
        await desk.add_note(session, lead, str(form.get("note", "")), actor)
        return "noted"

    async def tags(
        session: AsyncSession, lead: Lead, actor: desk.Actor, form: FormData, t: Translator
    ) -> str:
        if not await desk.change_tags(
            session, lead, actor, add=str(form.get("add", "")), remove=str(form.get("remove", ""))
        ):
            raise desk.DeskRefused("same")
        return "tagged"

    async def reply(
        session: AsyncSession, lead: Lead, actor: desk.Actor, form: FormData, t: Translator
    ) -> str:
        text = str(form.get("text", "")).strip()
        canned_id = str(form.get("canned", ""))
        if not text and canned_id.isdecimal():
            canned = await session.get(CannedReply, int(canned_id))
            text = fill_canned(canned, lead, translator(lead.language)) if canned else ""
        if not text:
            raise desk.DeskRefused("empty")
        if len(text) > lead_book.MAX_STAFF_REPLY:
            raise desk.DeskRefused("long")
        if not lead.chat_id:
            raise desk.DeskRefused("erased")
        staff_desk.enqueue_to_buyer(
            session, lead, lead_book.KIND_STAFF_REPLY, staff_desk.staff_reply_text(lead, text, console.settings), console.notify
        )
        await lead_book.record_event(session, lead, "reply", actor.actor_id, actor.name, text, actor.staff_id)
        return "replied"

    # --- export

    @page()
    async def export(
        request: Request,
        session: AsyncSession,
        account: StaffAccount,
        t: Translator,
        data: dict[str, Any],
        form: FormData | None,
    ) -> Response:
        kind = request.path_params["kind"]
        rows = await desk.export_rows(session, t)
        accounts.audit(session, account, "export", kind, {"rows": len(rows)}, address=_address(request))
        stamp = utcnow().astimezone(lead_book.LOCAL_ZONE).strftime("%Y%m%d-%H%M")
        if kind == "xlsx":
            body = desk.rows_xlsx(rows)
            media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            body, media = desk.rows_csv(rows), "text/csv; charset=utf-8"
        return Response(
            body,
            media_type=media,
            headers={
                "Content-Disposition": f'attachment; filename="leads-{stamp}.{kind}"',
                "Cache-Control": "no-store",
            },
        )

    # --- admin: accounts, canned replies, business hours

    @page(admin=True)
    async def accounts_page(
        request: Request,
        session: AsyncSession,
        account: StaffAccount,
        t: Translator,
        data: dict[str, Any],
        form: FormData | None,
    ) -> Response:
        return console.render(
            request,
            "accounts.html",
            t,
            data,
            account=account,
            staff=await accounts.list_accounts(session),
            done=request.query_params.get("done", ""),
        )

    @page(admin=True)
    async def accounts_post(
        request: Request,
        session: AsyncSession,
        account: StaffAccount,
        t: Translator,
        data: dict[str, Any],
        form: FormData | None,
    ) -> Response:
        assert form is not None
        what = str(form.get("do", ""))
        error = ""
        if what == "add":
            telegram = str(form.get("telegram_id", "")).strip()
            try:
                added = await accounts.add_account(
                    session,
                    str(form.get("username", "")),
                    str(form.get("password", "")),
                    admin=form.get("admin") == "1",
                    telegram_id=int(telegram) if telegram.lstrip("-").isdecimal() else None,
                    language=str(form.get("language", "vi")),
                )
                accounts.audit(
                    session,
                    account,
                    "account_created",
                    added.username,
                    {"admin": added.is_admin},
                    address=_address(request),
                )
            except accounts.AccountError as exc:
                error = t._("The account was not added: {reason}", reason=str(exc))
        elif what in ("disable", "enable", "language"):
            target = await session.get(
                StaffAccount, int(str(form.get("id", "0"))) if str(form.get("id", "0")).isdecimal() else 0
            )
            if target is None or (target.id == account.id and what == "disable"):
                error = t._("That account cannot be changed here.")
            elif what == "language":
                target.language = "en" if form.get("language") == "en" else "vi"
            else:
                target.active = what == "enable"
                target.session_generation += 1
            if not error and target is not None:
                accounts.audit(
                    session, account, "account_" + what, target.username, address=_address(request)
                )
        else:
            error = t._("That request was not understood.")
        if error:
            return console.render(
                request,
                "accounts.html",
                t,
                data,
                status=400,
                account=account,
                staff=await accounts.list_accounts(session),
                error=error,
            )
        return RedirectResponse("/admin/accounts?done=1", 303)

    @page(admin=True)
    async def canned_page(
        request: Request,
        session: AsyncSession,
        account: StaffAccount,
        t: Translator,
        data: dict[str, Any],
        form: FormData | None,
    ) -> Response:
        canned = (await session.scalars(select(CannedReply).order_by(CannedReply.title))).all()
        return console.render(request, "canned.html", t, data, account=account, canned=canned)

    @page(admin=True)
    async def canned_post(
        request: Request,
        session: AsyncSession,
        account: StaffAccount,
        t: Translator,
        data: dict[str, Any],
        form: FormData | None,
    ) -> Response:
        assert form is not None
        if form.get("do") == "delete":
            target = await _posted_row(session, CannedReply, form.get("id"))
            if target is not None:
                await session.delete(target)
                accounts.audit(session, account, "canned_deleted", target.title, address=_address(request))
            return RedirectResponse("/admin/canned", 303)
        title = str(form.get("title", "")).strip()[:100]
        body_vi = str(form.get("body_vi", "")).strip()[: lead_book.MAX_STAFF_REPLY]
        body_en = str(form.get("body_en", "")).strip()[: lead_book.MAX_STAFF_REPLY]
        if not title or not (body_vi or body_en):
            canned = (await session.scalars(select(CannedReply).order_by(CannedReply.title))).all()
            return console.render(
                request,
                "canned.html",
                t,
                data,
                status=400,
                account=account,
                canned=canned,
                error=t._("A canned reply needs a title and a text."),
            )
        session.add(CannedReply(title=title, body_vi=body_vi, body_en=body_en, updated_at=utcnow()))
        accounts.audit(session, account, "canned_added", title, address=_address(request))
        return RedirectResponse("/admin/canned", 303)

    @page(admin=True)
    async def hours_page(
        request: Request,
        session: AsyncSession,
        account: StaffAccount,
        t: Translator,
        data: dict[str, Any],
        form: FormData | None,
    ) -> Response:
        return console.render(
            request, "hours.html", t, data, account=account, hours=await deadlines.load_hours(session)
        )

    @page(admin=True)
    async def hours_post(
        request: Request,
        session: AsyncSession,
        account: StaffAccount,
        t: Translator,
        data: dict[str, Any],
        form: FormData | None,
    ) -> Response:
        assert form is not None
        try:
            hours = deadlines.BusinessHours(
                days=[int(d) for d in form.getlist("days") if str(d).isdecimal()],
                opens=str(form.get("opens", "")),
                closes=str(form.get("closes", "")),
                public_holidays=form.get("public_holidays") == "1",
                holidays=[
                    d.strip()
                    for d in str(form.get("holidays", "")).replace(",", "\n").splitlines()
                    if d.strip()
                ],
                claim_hours=float(str(form.get("claim_hours", ""))),
                reply_hours=float(str(form.get("reply_hours", ""))),
                escalate_hours=float(str(form.get("escalate_hours", ""))),
            )
        except (ValueError, deadlines.HoursError) as exc:
            return console.render(
                request,
                "hours.html",
                t,
                data,
                status=400,
                account=account,
                hours=await deadlines.load_hours(session),
                error=t._("Not saved: {reason}", reason=str(exc)),
            )
        await deadlines.save_hours(session, hours)
        accounts.audit(session, account, "hours_saved", "", hours.to_json(), address=_address(request))
        return RedirectResponse("/admin/hours", 303)

    @page(admin=True)
    async def routing_page(
        request: Request,
        session: AsyncSession,
        account: StaffAccount,
        t: Translator,
        data: dict[str, Any],
        form: FormData | None,
    ) -> Response:
        return await _render_routing(request, session, account, t, data)

    async def _render_routing(
        request: Request,
        session: AsyncSession,
        account: StaffAccount,
        t: Translator,
        data: dict[str, Any],
        error: str = "",
        status: int = 200,
    ) -> Response:
        rules = (
            await session.scalars(select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id))
        ).all()
        staff = await accounts.list_accounts(session)
        names = {a.id: a.username for a in staff}
        _, districts = await desk.filter_choices(session)
        return console.render(
            request,
            "routing.html",
            t,
            data,
            status=status,
            account=account,
            error=error,
            rules=[{"rule": r, "staff": [names.get(int(i), "?") for i in r.staff_ids or []]} for r in rules],
            staff=[a for a in staff if a.active],
            groups=list(CATEGORY_NAMES),
            districts=sorted(set(districts) | set(await _catalogue_districts(session))),
            default_chat=console.settings.staff_chat_id,
        )

    @page(admin=True)
    async def routing_post(
        request: Request,
        session: AsyncSession,
        account: StaffAccount,
        t: Translator,
        data: dict[str, Any],
        form: FormData | None,
    ) -> Response:
        assert form is not None
        if form.get("do") == "delete":
            rule = await _posted_row(session, RoutingRule, form.get("id"))
            if rule is not None:
                await session.delete(rule)
                accounts.audit(session, account, "routing_deleted", str(rule.id), address=_address(request))
            return RedirectResponse("/admin/routing", 303)
        topic = str(form.get("thread_id", "")).strip()
        if topic and not (topic.isdecimal() and 0 < int(topic) < 2**31):
            return await _render_routing(
                request, session, account, t, data, status=400,
                error=t._("Not saved: a forum topic id is a positive number (empty: the chat's general topic)."),
            )
        if form.get("do") == "topic":
            rule = await _posted_row(session, RoutingRule, form.get("id"))
            if rule is not None:
                rule.thread_id = int(topic) if topic else None
                accounts.audit(session, account, "routing_topic", str(rule.id), {"topic": topic},
                               address=_address(request))
            return RedirectResponse("/admin/routing", 303)
        group = str(form.get("product_group", ""))
        district = str(form.get("district", "")).strip()[:100]
        chat = str(form.get("chat_id", "")).strip()
        position = str(form.get("position", "0")).strip()
        staff_ids = [int(i) for i in form.getlist("staff") if str(i).isdecimal()]
        known = {a.id for a in await accounts.list_accounts(session)}
        if (
            (group and group not in CATEGORY_NAMES)
            or (chat and not chat.lstrip("-").isdecimal())
            or not position.lstrip("-").isdecimal()
            or not set(staff_ids) <= known
            or not (group or district)
        ):
            return await _render_routing(
                request,
                session,
                account,
                t,
                data,
                status=400,
                error=t._(
                    "Not saved: a rule needs a product group or a former district, and a chat id is a number."
                ),
            )
        rule = RoutingRule(
            position=int(position),
            product_group=group,
            district=district,
            chat_id=chat,
            thread_id=int(topic) if topic else None,
            staff_ids=staff_ids,
            next_index=0,
        )
        session.add(rule)
        accounts.audit(
            session,
            account,
            "routing_added",
            f"{group}/{district}",
            {"chat": chat, "topic": topic, "staff": staff_ids},
            address=_address(request),
        )
        return RedirectResponse("/admin/routing", 303)

    @page()
    async def language(
        request: Request,
        session: AsyncSession,
        account: StaffAccount,
        t: Translator,
        data: dict[str, Any],
        form: FormData | None,
    ) -> Response:
        assert form is not None
        account.language = "en" if form.get("language") == "en" else "vi"
        return RedirectResponse(_safe_next(str(form.get("next", ""))) or "/leads", 303)

    return [
        *catalog_upload.catalog_routes(console, staff_page),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/account/language", language, methods=["POST"]),
        Route("/leads", inbox, methods=["GET"]),
        Route("/leads/export.{kind:str}", _only_kinds(export), methods=["GET"]),
        Route("/leads/{ref:str}", lead_page, methods=["GET"]),
        Route("/leads/{ref:str}/claim", lead_action(claim), methods=["POST"]),
        Route("/leads/{ref:str}/status", lead_action(status), methods=["POST"]),
        Route("/leads/{ref:str}/assign", lead_action(assign), methods=["POST"]),
        Route("/leads/{ref:str}/note", lead_action(note), methods=["POST"]),
        Route("/leads/{ref:str}/tags", lead_action(tags), methods=["POST"]),
        Route("/leads/{ref:str}/reply", lead_action(reply), methods=["POST"]),
        Route("/admin/accounts", accounts_page, methods=["GET"]),
        Route("/admin/accounts", accounts_post, methods=["POST"]),
        Route("/admin/canned", canned_page, methods=["GET"]),
        Route("/admin/canned", canned_post, methods=["POST"]),
        Route("/admin/routing", routing_page, methods=["GET"]),
        Route("/admin/routing", routing_post, methods=["POST"]),
        Route("/admin/hours", hours_page, methods=["GET"]),
        Route("/admin/hours", hours_post, methods=["POST"]),
        *insights_routes(console, page),
        *map_tap_routes(db),  # the counted map links of answers (for buyers: no sign-in)
    ]


REFUSALS = {
    "same": N_("Nothing changed: it is already so."),
    "empty": N_("Write something first."),
    "long": N_("That text is too long."),
    "erased": N_("The buyer erased their details, so there is no chat to reply to."),
    "too_many": N_("A lead can have at most 10 tags."),
    "invalid": N_("That request was not understood."),
}
DONE = {
    "claim": N_("You claimed this lead."),
    "contacted": N_("Marked contacted."),
    "won": N_("Marked won."),
    "lost": N_("Marked lost."),
    "spam": N_("Marked spam."),
    "assigned": N_("Assignment saved."),
    "noted": N_("Note added."),
    "tagged": N_("Tags saved."),
    "replied": N_("Your reply is on its way to the buyer."),
}
PAGE_REFUSALS = {
    "no_session": (N_("Please sign in first."), True),
    "bad_csrf": (
        N_("This form has expired or did not come from the console. Go back, reload the page and try again."),
        False,
    ),
    "not_admin": (N_("Only administrators can open this page."), False),
    "no_lead": (N_("There is no lead with that reference."), False),
    "too_large": (N_("That form is too large."), False),
}


async def _catalogue_districts(session: AsyncSession) -> list[str]:
    return [d for d in (await session.scalars(select(Product.district).distinct())).all() if d]


def _without_icon(label: str) -> str:
    """'🙋 Claim' → 'Claim': the card's emoji need a colour-emoji font the staff's browser may not have."""
    first, _, rest = label.partition(" ")
    return rest if rest and not any(c.isalnum() for c in first) else label


def _only_kinds(handler: Handler) -> Handler:
    async def endpoint(request: Request) -> Response:
        if request.path_params.get("kind") not in ("csv", "xlsx"):
            return Response("Not Found", 404)
        return await handler(request)

    return endpoint


def _refusal(
    console: Console, request: Request, refused: Refused, data: dict[str, Any], language: str | None = None
) -> Response:
    t = translator(language or _language_of(request))
    message, sign_in = PAGE_REFUSALS.get(refused.message, (PAGE_REFUSALS["bad_csrf"][0], False))
    return console.render(
        request,
        "refused.html",
        t,
        data,
        status=refused.status,
        message=t._(message),
        sign_in=sign_in,
        account=refused.account,
    )


def _safe_next(target: str | None) -> str:
    """Only a path of this site (never '//host' or 'https://…'): no open redirect after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target[:300]
    return ""


def fill_canned(canned: CannedReply, lead: Lead, t: Translator) -> str:
    """The canned reply in the buyer's language with {buyer}, {product} and {quantity} filled in."""
    body = (canned.body_en if t.language == "en" else canned.body_vi) or canned.body_vi or canned.body_en
    products = ", ".join(lead_book.product_label(p, t.language, quantity=False) for p in lead.products or [])
    values = {
        "{buyer}": lead.buyer_name or t._("Sir or Madam"),
        "{product}": products,
        "{quantity}": lead_book.format_quantity(lead.quantity, t),
    }
    for key, value in values.items():
        body = body.replace(key, value)
    return body


async def _change(session: AsyncSession, lead: Lead, actor: desk.Actor, action: str, console: Console) -> str:
    was = lead.status
    await lead_book.change_status(session, lead, action, actor.actor_id, actor.name, actor.staff_id)
    staff_desk.queue_status_notice(session, lead, was, console.notify)
    return action


async def _update_card(session: AsyncSession, lead: Lead, console: Console) -> None:
    """Edit the lead's card in the staff chat to show what the console changed (queued like every message)."""
    card = await session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.lead_id == lead.id, OutboxMessage.kind == lead_book.KIND_LEAD_CARD)
        .order_by(OutboxMessage.id)
        .limit(1)
    )
    if card is None or card.status in ("failed", "cancelled") or lead.anonymised_at is not None:
        return
    for pending in (
        await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.lead_id == lead.id,
                OutboxMessage.kind == lead_book.KIND_CARD_EDIT,
                OutboxMessage.status == "pending",
            )
        )
    ).all():
        pending.status = "cancelled"  # superseded by the edit queued below
        pending.last_error = "superseded by a newer edit"
    t = translator(console.settings.staff_language)
    payload = reply_to_json(
        staff_desk.card_reply(lead, t, await lead_book.lead_events(session, lead), edit=True)
    )
    lead_book.enqueue(
        session,
        kind=lead_book.KIND_CARD_EDIT,
        channel=card.channel,
        chat_id=card.chat_id,
        payload=payload,
        lead_id=lead.id,
        notify=console.notify,
    )
