"""The wholesale enquiry form: one question at a time, kept in the database, ending in a lead for the staff.

```mermaid
stateDiagram-v2
    [*] --> products: enq:start · "mua sỉ" · "bulk order"
    [*] --> quantity: enq:start:<slug> (product pre-filled)
    products --> quantity --> place --> time --> name --> organisation --> phone --> email --> notes --> consent
    quantity --> quantity: several products, one still without its own quantity ("How much <product>?")
    products --> quantity: an amount typed once a product is listed ("2 tấn"), taken as the quantity
    note left of products: an exact name is added at once; a time is refused; a word the catalogue lacks is added only on "Add …"
    consent --> summary: I agree
    consent --> discard: No
    discard --> consent: No, go back
    discard --> [*]: Yes, discard (nothing stored)
    summary --> edit: Edit a field
    edit --> summary: field answered
    summary --> repeat: same products and phone within 24 h
    repeat --> [*]: Send it again · Cancel
    summary --> [*]: Confirm (lead + outbox entry, one transaction)
    draft --> products: Continue (enq:resume), until it expires
    note right of summary: every step: back · cancel; bad answers are explained and asked again
    state "Cancel this bulk enquiry?" as sure
    products --> sure: cancel (✖, /cancel, typed "huỷ" / "thôi" / "stop"…) with answers given
    sure --> products: No, continue (back at the same step)
    sure --> [*]: Yes · a second cancel (nothing stored)
    note left of draft: /start, menu or a greeting leave any step as a draft; help, a language switch and questions are answered and the step waits
```

Progress lives in `ChatSession.form` (an `EnquiryForm`, stored as JSON) and `form_updated_at`, so a restarted bot
continues where the buyer was; a form left longer than OCOP_ENQUIRY_EXPIRY_HOURS is discarded (and the buyer
told) on their next message.

While a form is open it gets the first look at what the buyer types (`first_look`), but it only keeps an
answer that fits its question: `/start`, the menu and greetings leave it (kept as a draft to resume);
help, a language switch and questions are answered by the rest of the bot, and the form waits.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from enum import Enum
from typing import Any

from catalog import deadlines, desk
from catalog import leads as lead_book
from catalog.models import utcnow
from catalog.text import clean, fold
from catalog.validation import (
    Quantity,
    QuantityError,
    QuantityProblem,
    TimeFrameError,
    TimeProblem,
    display_phone,
    example_month,
    name_words,
    named_product,
    parse_email,
    parse_phone,
    parse_quantity,
    parse_time_frame,
    split_quantities,
    without_name,
)
from handlers import cards, intent
from handlers.context import Context
from handlers.department import department
from handlers.messages import Button, Reply, h, reply_to_json
from handlers.payloads import Enquiry
from handlers.staff import anonymised_card_payload, card_reply
from handlers.state import EnquiryForm
from locales import N_, Translator, translator

STEPS = ("products", "quantity", "place", "time", "name", "organisation", "phone", "email", "notes", "consent")
FIELDS = STEPS[:-1]  # what the summary's "Edit a field" offers
OPTIONAL = frozenset({"organisation", "email", "notes"})
MAX_ANSWER_CHARS = 2000  # anything longer is refused before it is even parsed

FIELD_LABELS = {
    "products": N_("Products"),
    "quantity": N_("Quantity"),
    "place": N_("Delivery place"),
    "time": N_("Time frame"),
    "name": N_("Name"),
    "organisation": N_("Organisation"),
    "phone": N_("Phone"),
    "email": N_("E-mail"),
    "notes": N_("Notes"),
}
QUESTIONS = {
    "products": N_("Which product would you like to buy in bulk? Type its name, e.g. <i>Luc Ngan lychee</i> "
                   "or <i>Chu noodles</i>."),
    "quantity": N_("How much do you need? Write the amount and the unit, e.g. <i>2 tonnes</i>, <i>500 kg</i>, "
                   "<i>300 cartons</i> or <i>200 head</i>."),
    "place": N_("Where should the goods be delivered? Province or city, district, or a full address."),
    "time": N_("When do you need the goods? Tap a choice or type a date or period (e.g. <i>{example}</i>)."),
    "name": N_("What is your name?"),
    "organisation": N_("Which company, shop or organisation are you buying for? (optional)"),
    "phone": N_("Which phone number can the trade department call you on? Type it (e.g. <i>0912 345 678</i> or "
                "<i>+84 912 345 678</i>) or tap “Share my phone number”."),
    "email": N_("Your e-mail address? (optional)"),
    "notes": N_("Anything else staff should know, such as packaging, quality or price expectations? (optional)"),
    "consent": N_("Last step: may we share these details with {department} so they can contact you about this "
                  "enquiry? They are used only for that, and you can erase them at any time with /forget."),
}
QUANTITY_PROBLEMS = {
    QuantityProblem.EMPTY: N_("Please write the amount with its unit, e.g. 2 tonnes or 500 kg."),
    QuantityProblem.TOO_LONG: N_("Please keep the quantity short (up to 100 characters), e.g. 2 tonnes or 500 kg."),
    QuantityProblem.NO_NUMBER: N_("I could not find a number. Please write the amount with its unit, "
                                  "e.g. 2 tonnes, 1.5 tonnes or 500 kg."),
    QuantityProblem.NO_UNIT: N_("Please add the unit after the number, e.g. 500 kg, 2 tonnes or 300 cartons."),
    QuantityProblem.NOT_POSITIVE: N_("The amount must be more than zero."),
    QuantityProblem.TOO_LARGE: N_("That amount is larger than we can handle (at most 10 million); please check it."),
    QuantityProblem.BAD_RANGE: N_("For a range, put the smaller number first, e.g. 2-3 tonnes."),
}

TIME_PROBLEMS = {
    TimeProblem.PAST: N_("That date has already passed (today is {today}). When do you need the goods?"),
    TimeProblem.TOO_FAR: N_("That is more than three years ahead; please give a nearer date, or tap Flexible."),
    TimeProblem.BAD_DATE: N_("That date does not exist; please check the day and the month."),
    TimeProblem.MEANINGLESS: N_("Please tell me when you need the goods: a date, a month, a season or a period "
                                "such as “next month”, or tap one of the choices."),
}


def local_today() -> dt.date:
    """Today in Vietnam, where the buyer and the trade department are."""
    return dt.datetime.now(lead_book.LOCAL_ZONE).date()


def time_example(t: Translator) -> str:
    """A month a little ahead, so the question's example is never already past."""
    month = example_month(local_today())
    return f"tháng {month.month}/{month.year}" if t.language == "vi" else month.strftime("%B %Y")


# Words typed instead of tapping a button, in both languages, compared after lower-casing (marks kept, so
# "hủy" cancels but the name "Huy" does not).
BACK_WORDS = frozenset({"back", "go back", "previous", "quay lại", "trở lại", "lùi lại", "quay lai", "tro lai",
                        "lui lai", "/back", "/quaylai"})
# A typed cancel is read by `wants_to_cancel`: a short message made of a cancel word and only polite or
# form words around it ("huỷ", "Hủy nhé!", "thôi không mua nữa", "stop please", "never mind").
CANCEL_CUES = ("cancel", "stop", "quit", "abort", "exit", "never mind", "nevermind", "forget it", "hủy", "thôi",
               "dừng", "ngừng", "thoát", "huy bo", "dung lai", "thoi")
CANCEL_FILLERS = (
    "bỏ", "lại", "luôn", "đã", "nữa", "không", "ko", "khong", "mua", "yêu cầu", "đơn", "đơn hàng", "hàng", "này",
    "việc", "sỉ", "thôi", "nhé", "ạ", "à", "đi", "nha", "it", "this", "that", "my", "the", "enquiry", "inquiry",
    "form", "order", "request", "everything", "all", "now", "please", "i", "want", "to", "bulk",
)
CANCEL_MAX_WORDS = 8
SKIP_WORDS = frozenset({"skip", "none", "no", "n/a", "-", "bỏ qua", "bo qua", "không", "khong", "không có",
                        "khong co", "ko", "k"})
DONE_WORDS = frozenset({"done", "next", "continue", "ok", "that's all", "xong", "tiếp", "tiếp tục", "tiep",
                        "tiep tuc", "hết", "het", "đủ rồi", "du roi"})
YES_WORDS = frozenset({"yes", "y", "i agree", "agree", "ok", "okay", "có", "co", "đồng ý", "dong y", "vâng", "dạ",
                       "ừ", "đồng ý ạ", "có ạ"})
NO_WORDS = frozenset({"no", "n", "i do not agree", "i don't agree", "disagree", "không", "khong", "ko",
                      "không đồng ý", "khong dong y"})
CONFIRM_WORDS = frozenset({"confirm", "send", "ok", "yes", "xác nhận", "xac nhan", "gửi", "gui", "đồng ý", "có"})

TRIGGERS = intent.WHOLESALE_PHRASES
# Typed while a form is open, these leave it (kept as a draft), as /start and the menu button do.
MENU_WORDS = frozenset({"menu", "main menu", "menu chính", "bắt đầu", "bắt đầu lại", "start", "home", "trang chủ",
                        "/menu"})
TRIGGER_FILLERS = intent.POLITE + (
    "muốn", "cần", "tôi muốn", "mình muốn", "em muốn", "đặt hàng", "đặt", "mua", "hàng", "về", "i", "want", "to",
    "would", "like", "buy", "order", "an", "of", "for", "make", "place", "we", "need", "enquiry", "inquiry",
)


# --- the stored form


def _now() -> dt.datetime:
    return utcnow()


def load_form(ctx: Context) -> EnquiryForm | None:
    """The form in this chat (a fresh object, changed freely and saved whole), open or paused, or None."""
    return EnquiryForm.from_json(ctx.chat.form)


def save_form(ctx: Context, form: EnquiryForm, *, touch: bool = True) -> None:
    """Store the form and (unless `touch` is False) when it was last answered."""
    ctx.chat.form = form.to_json()
    if touch or ctx.chat.form_updated_at is None:
        ctx.chat.form_updated_at = _now()


def discard_form(ctx: Context) -> None:
    """Forget the form in progress; nothing of it is kept."""
    ctx.chat.form = None
    ctx.chat.form_updated_at = None


def expired(ctx: Context) -> bool:
    """Left unanswered longer than OCOP_ENQUIRY_EXPIRY_HOURS."""
    updated = ctx.chat.form_updated_at
    if updated is None:
        return True
    return _now() - updated > dt.timedelta(hours=ctx.settings.enquiry_expiry_hours)


def form_t(ctx: Context, form: EnquiryForm) -> Translator:
    """The form keeps the language it started in (a name typed in Vietnamese does not switch an English form),
    unless the user chose another language explicitly meanwhile."""
    chosen = ctx.chat.language
    if chosen and chosen != form.lang:
        form.lang = chosen
    return translator(form.lang or ctx.language)


def _key(text: str) -> str:
    return clean(text).lower().strip(" .!?…")


_TONES = {"\u0300": "`", "\u0301": "'", "\u0309": "?", "\u0303": "~", "\u0323": "."}


def tone_key(word: str) -> str:
    """A word with its tone moved to the end, so both tone placements are one word ("huỷ" and "hủy" →
    "huy?") while another tone, or none, stays another word (the name "Huy")."""
    parts = unicodedata.normalize("NFD", word)
    tones = "".join(_TONES[c] for c in parts if c in _TONES)
    return unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONES)) + tones


def _keyed_words(text: str) -> list[str]:
    return [tone_key(w) for w in re.findall(r"\w+", clean(text).lower())]


_CANCEL_CUES = [_keyed_words(c) for c in CANCEL_CUES]
_CANCEL_FILLERS = [_keyed_words(c) for c in CANCEL_FILLERS] + [_keyed_words(p) for p in intent.POLITE]


def _without(words: list[str], phrases: list[list[str]]) -> tuple[list[str], bool]:
    """`words` without every occurrence of the phrases (longest first); and whether any was there."""
    found = False
    for phrase in sorted(phrases, key=len, reverse=True):
        i = 0
        while i + len(phrase) <= len(words):
            if phrase and words[i:i + len(phrase)] == phrase:
                words = words[:i] + words[i + len(phrase):]
                found = True
            else:
                i += 1
    return words, found


def wants_to_cancel(text: str) -> bool:
    """Typed to stop the form: a cancel word ("huỷ", "thôi", "cancel", "stop", "never mind"; either tone
    placement, with or without marks for multi-letter phrases) and nothing else but polite or form words."""
    words = _keyed_words(text.removeprefix("/"))
    if not words or len(words) > CANCEL_MAX_WORDS:
        return False
    rest, cued = _without(words, _CANCEL_CUES)
    if not cued:
        return False
    rest, _ = _without(rest, _CANCEL_FILLERS)
    return not rest


# --- replies


def nav_row(t: Translator, form: EnquiryForm, step: str) -> list[Button]:
    """Back (or back to the summary when editing) and Cancel."""
    back_label = t._("« Back to summary") if form.editing else t._("« Back")
    row = [Button(back_label, "enq:back")] if (form.editing or step != STEPS[0]) else []
    return row + [Button(t._("✖ Cancel"), "enq:cancel")]


def product_names(form: EnquiryForm, language: str) -> str:
    """The products listed so far, in the reader's language."""
    return "; ".join(lead_book.product_label(p, language, quantity=False) for p in form.data.products)


def per_product(form: EnquiryForm) -> bool:
    """Several products: each gets its own quantity (forms of version 2 may still hold one shared quantity)."""
    products = form.data.products
    return len(products) > 1 and (any(p.get("quantity") for p in products) or not form.data.quantity)


def quantity_wanted(form: EnquiryForm) -> dict[str, str] | None:
    """The product whose quantity the question asks for: the first without one (or the first of all)."""
    products = form.data.products
    return next((p for p in products if not p.get("quantity")), products[0] if products else None)


def sync_quantity(form: EnquiryForm) -> None:
    """The lead's quantity from each product's: joined when all are given, "" while one is missing."""
    data = form.data
    given = [p.get("quantity", "") for p in data.products]
    if given and all(given):
        data.quantity = lead_book.join_quantities(given) if len(given) > 1 else given[0]
    elif any(given):
        data.quantity = ""


def clear_quantities(form: EnquiryForm) -> None:
    """Asked again from the start (back to the question, or editing it from the summary); a version 2 form's
    one quantity shared by several products becomes one question per product."""
    if len(form.data.products) > 1:
        for item in form.data.products:
            item.pop("quantity", None)
        form.data.quantity = ""


def question(ctx: Context, form: EnquiryForm, step: str, *, before: str = "") -> Reply:
    """The question for `step`, with its own buttons and back/cancel; `before` (already HTML) goes first."""
    t = form_t(ctx, form)
    heading = t._("📦 Wholesale enquiry · question {n} of {total}", n=STEPS.index(step) + 1, total=len(STEPS))
    lines = [before] if before else []
    if step == "time":
        asked = t._(QUESTIONS[step], example=h(time_example(t)))
    elif step == "consent":
        asked = t._(QUESTIONS[step], department=department(t, ctx.settings))
    else:
        asked = t._(QUESTIONS[step])
    lines += [f"<b>{h(heading)}</b>", asked]
    buttons: list[list[Button]] = []
    keyboard: list[list[Button]] = []
    data = form.data
    if step == "quantity" and per_product(form) and (wanted := quantity_wanted(form)) is not None:
        lines[-1] = t._("How much <b>{product}</b> do you need? Write the amount and the unit, e.g. <i>2 tonnes</i>, "
                        "<i>500 kg</i>, <i>300 cartons</i> or <i>200 head</i>.",
                        product=h(lead_book.product_label(wanted, t.language, quantity=False)))
        if not any(p.get("quantity") for p in data.products):
            lines.append(t._("Or every product at once, e.g. <i>1.5 tonnes of lychee, 500 kg of noodles</i>."))
    if step == "products" and data.products:
        lines = ([before] if before else []) + [
            f"<b>{h(heading)}</b>",
            t._("Products so far: {products}", products=h(product_names(form, t.language))),
            t._("Type another product to add it, or tap Continue."),
        ]
        buttons.append([Button(t._("Continue »"), "enq:next"), Button(t._("Clear the list"), "enq:pclear")])
    elif step == "time":
        buttons += [[Button(t._(label), f"enq:tf:{key}")] for key, label in lead_book.TIME_FRAMES.items()]
    elif step == "name":
        own = clean(ctx.incoming.display_name)
        if valid_name(own):
            buttons.append([Button(cards.short_label(t._("Use “{name}”", name=own)), "enq:name:me")])
    elif step == "phone":
        keyboard = [[Button(t._("📱 Share my phone number"), kind="contact")]]
    elif step == "consent":
        buttons.append([Button(t._("✅ I agree"), "enq:consent:yes"), Button(t._("No"), "enq:consent:no")])
    if step in OPTIONAL:
        buttons.append([Button(t._("Skip »"), "enq:skip")])
    buttons.append(nav_row(t, form, step))
    form.keyboard = step == "phone"
    return Reply("\n".join(lines), buttons, keyboard=keyboard)


def field_value(form: EnquiryForm, name: str, t: Translator) -> str:
    """One answer as the summary shows it."""
    data = form.data
    if name == "products":
        return product_names(form, t.language)
    if name == "quantity":
        if per_product(form):
            return "; ".join(lead_book.product_label(p, t.language) for p in data.products if p.get("quantity"))
        return lead_book.format_quantity(data.quantity, t)
    if name == "time":
        return lead_book.time_frame_label(data.time, t)
    if name == "phone":
        return display_phone(data.phone) if data.phone else ""
    return str(data.get(name))


def summary(ctx: Context, form: EnquiryForm, *, before: str = "") -> Reply:
    """Every answer, with Confirm · Edit a field · Cancel."""
    t = form_t(ctx, form)
    lines = [before] if before else []
    lines.append("<b>" + h(t._("📋 Please check your enquiry:")) + "</b>")
    for name in FIELDS:
        value = field_value(form, name, t)
        lines.append(f"{h(t._(FIELD_LABELS[name]))}: " + (h(value) if value else "—"))
    lines += ["", h(t._("Tap Confirm to send it to the trade department."))]
    buttons = [
        [Button(t._("✅ Confirm"), "enq:confirm")],
        [Button(t._("✏️ Edit a field"), "enq:edit"), Button(t._("✖ Cancel"), "enq:cancel")],
    ]
    return Reply("\n".join(lines), buttons)


def edit_picker(ctx: Context, form: EnquiryForm) -> Reply:
    """Which answer to change."""
    t = form_t(ctx, form)
    fields = [Button(t._(FIELD_LABELS[name]), f"enq:ed:{name}") for name in FIELDS]
    rows = [fields[i:i + 3] for i in range(0, len(fields), 3)]
    rows.append([Button(t._("« Back to summary"), "enq:summary")])
    return Reply(h(t._("Which field would you like to change?")), rows)


def show(ctx: Context, form: EnquiryForm, *, before: str = "") -> list[Reply]:
    """Whatever the form is waiting for now: a question, the summary or the field picker."""
    replies: list[Reply] = []
    sync_quantity(form)
    step = form.step
    if form.keyboard and step != "phone":
        # The share-contact keyboard goes away with a message of its own (a message has one keyboard).
        t = form_t(ctx, form)
        replies.append(Reply(before or h(t._("Thank you.")), remove_keyboard=True))
        before = ""
        form.keyboard = False
    if step == "summary":
        replies.append(summary(ctx, form, before=before))
    elif step == "edit":
        picker = edit_picker(ctx, form)
        if before:
            picker.text = before + "\n" + picker.text
        replies.append(picker)
    else:
        replies.append(question(ctx, form, step, before=before))
    save_form(ctx, form)
    return replies


def noted(t: Translator, name: str, value: str) -> str:
    """The "✓ Field: value" line that acknowledges an answer."""
    return "✓ " + h(t._("{field}: {value}", field=t._(FIELD_LABELS[name]), value=value))


def problem(t: Translator, text: str) -> str:
    """A bad answer explained, shown above the question asked again."""
    return "⚠️ " + h(text)


def closing(t: Translator, text: str, had_keyboard: bool, *, offer_new: bool = True) -> list[Reply]:
    """The last word of a form (already HTML) with the menu; the share-contact keyboard, if shown, is removed
    by a message of its own, since a Telegram message carries one kind of keyboard."""
    buttons = ([[Button(t._("📦 New enquiry"), "enq:start")]] if offer_new else []) + [cards.menu_row(t)]
    if had_keyboard:
        return [Reply(text, remove_keyboard=True), Reply(h(t._("What would you like to do next?")), buttons)]
    return [Reply(text, buttons)]


# --- starting, leaving and finishing


def _today() -> str:
    return lead_book.start_of_local_day().isoformat()


def _erased_today(ctx: Context) -> int:
    """Enquiries confirmed today whose lead no longer names the buyer (they sent /forget since)."""
    erased = ctx.memory.erased_today
    return erased.count if erased is not None and erased.day == _today() else 0


async def over_daily_limit(ctx: Context) -> bool:
    """This user already confirmed OCOP_ENQUIRIES_PER_DAY enquiries today (erased ones count too, or
    /forget would reset the limit)."""
    incoming = ctx.incoming
    count = await lead_book.leads_today(ctx.session, incoming.channel, incoming.user_id)
    erased = await lead_book.erased_today(ctx.session, incoming.channel, incoming.user_id)  # per user, any chat
    return count + max(erased, _erased_today(ctx)) >= ctx.settings.enquiries_per_day


def limit_reply(ctx: Context) -> Reply:
    """The polite refusal over the daily limit."""
    t = ctx.t
    text = t.n_(
        "You have already sent {n} wholesale enquiry today, the most we accept in one day. "
        "Please try again tomorrow; the trade department will answer the one you sent.",
        "You have already sent {n} wholesale enquiries today, the most we accept in one day. "
        "Please try again tomorrow; the trade department will answer the ones you sent.",
        ctx.settings.enquiries_per_day,
    )
    return Reply(h(text), [[Button(t._("📞 Contacts"), "m:contacts")], cards.menu_row(t)])


async def start(ctx: Context, *, slug: str = "", text: str = "", before: str = "") -> list[Reply]:
    """A new form: refused politely over the daily limit; a product may come pre-filled (button or words)."""
    if ctx.incoming.chat_id != ctx.incoming.user_id:
        # A group chat: one form would collect everybody's answers, and the phone number would be seen by all.
        return [Reply(h(ctx.t._("Wholesale enquiries are made in a private chat, so that your contact details "
                                "stay between you and the trade department: write to me privately and tap "
                                "Bulk enquiry there.")))]
    if await over_daily_limit(ctx):
        return [limit_reply(ctx)]
    form = EnquiryForm(lang=ctx.language, started=_now().isoformat())
    if slug and cards.valid_slug(slug):
        found = (await ctx.catalog()).products_by_slug([slug])
        if found:
            form.data.products.append(_catalogue_item(found[0]))
            form.step = "quantity"
            t = form_t(ctx, form)
            intro = t._("Wholesale enquiry for <b>{product}</b>. You can add more products at the end.",
                        product=h(product_names(form, t.language)))
            return show(ctx, form, before=(before + "\n" if before else "") + intro)
    if text:
        save_form(ctx, form)
        replies = await answer_products(ctx, form, text)
        if before:
            replies[0].text = before + "\n" + replies[0].text
        return replies
    t = form_t(ctx, form)
    intro = t._("I will ask a few short questions and pass your enquiry to the trade department, who will "
                "contact you. Type <i>cancel</i> at any time to stop.")
    return show(ctx, form, before=(before + "\n" if before else "") + intro)


def has_answers(form: EnquiryForm) -> bool:
    """Something the buyer would lose if the form were thrown away."""
    data = form.data
    return bool(data.products or any(data.get(name) for name in FIELDS if name != "products"))


def ask_cancel(ctx: Context, form: EnquiryForm) -> list[Reply]:
    """Cancel typed, sent as /cancel or tapped: asked first when there are answers to lose ("No" resumes at the
    same question); a form with nothing answered yet is cancelled at once."""
    if not has_answers(form):
        return cancel(ctx, form)
    t = form_t(ctx, form)
    form.paused = False
    form.confirming = "cancel"
    save_form(ctx, form)
    text = t._("Cancel this bulk enquiry? All the answers you have given will be discarded.")
    return [Reply(h(text), [[Button(t._("Yes, discard it"), "enq:cancel:yes"),
                             Button(t._("No, continue"), "enq:resume")]])]


def cancel(ctx: Context, form: EnquiryForm | None) -> list[Reply]:
    """Discard the form; nothing is stored."""
    t = form_t(ctx, form) if form else ctx.t
    discard_form(ctx)
    text = t._("Your enquiry has been cancelled and nothing was stored. You can start again any time.")
    return closing(t, h(text), bool(form and form.keyboard))


def go_back(ctx: Context, form: EnquiryForm) -> list[Reply]:
    """The previous question (or the summary, when editing a field)."""
    t = form_t(ctx, form)
    step = form.step
    if form.editing or step == "edit":
        form.editing = False
        form.step = "summary"
        return show(ctx, form)
    if step == "summary":
        form.step = "consent"
        return show(ctx, form)
    index = STEPS.index(step)
    if index == 0:
        return show(ctx, form, before=problem(t, t._("This is the first question.")))
    form.step = STEPS[index - 1]
    form.candidates, form.pending = [], ""
    if form.step == "quantity":
        clear_quantities(form)
    return show(ctx, form)


def advance(ctx: Context, form: EnquiryForm, before: str) -> list[Reply]:
    """After a good answer: the next question, or back to the summary when editing a field."""
    if form.editing:
        form.editing = False
        form.step = "summary"
    else:
        form.step = STEPS[STEPS.index(form.step) + 1]
    form.candidates, form.pending = [], ""
    return show(ctx, form, before=before)


async def confirm(ctx: Context, form: EnquiryForm, *, again: bool = False) -> list[Reply]:
    """The lead and its staff-card outbox entry, in the router's one transaction; the buyer gets the reference.

    The same products from the same phone within 24 hours are asked about first (`again` once confirmed),
    so that a double tap or an impatient resend does not become a second lead."""
    t = form_t(ctx, form)
    data = form.data
    sync_quantity(form)
    missing = [name for name in FIELDS if name not in OPTIONAL and not data.get(name)]
    if missing or not data.consent:
        form.step = missing[0] if missing else "consent"
        return show(ctx, form, before=problem(t, t._("A required answer is missing.")))
    if await over_daily_limit(ctx):
        discard_form(ctx)
        return [limit_reply(ctx)]
    if not again and (earlier := await lead_book.recent_duplicate(ctx.session, data.phone, data.products)):
        form.confirming = "duplicate"
        save_form(ctx, form)
        text = t._("You already sent this enquiry (same products, same phone) as {ref} on {when}; the trade "
                   "department has it. Send it again as a new enquiry?", ref=earlier.ref,
                   when=t.datetime(earlier.created_at))
        return [Reply(h(text), [[Button(t._("Send it again"), "enq:confirm:again"),
                                 Button(t._("No, cancel this one"), "enq:cancel:yes")]])]
    incoming = ctx.incoming
    draft = lead_book.LeadDraft(
        channel=incoming.channel, chat_id=incoming.chat_id, user_id=incoming.user_id, language=t.language,
        products=[dict(p) for p in data.products], quantity=data.quantity, delivery_place=data.place,
        time_frame=data.time, buyer_name=data.name, phone=data.phone,
        organisation=data.organisation, email=data.email, notes=data.notes,
    )
    lead = await lead_book.create_lead(ctx.session, draft)
    ctx.record("lead_confirmed", products=[p.get("slug", "") for p in data.products])  # demand insight
    route = await desk.route_lead(ctx.session, lead, ctx.settings.staff_chat_id)
    await desk.apply_route(ctx.session, lead, route)
    card = card_reply(lead, translator(ctx.settings.staff_language))
    card.thread_id = lead.staff_thread_id  # the routing rule's forum topic, if any
    lead_book.enqueue(ctx.session, kind=lead_book.KIND_LEAD_CARD, channel="telegram", chat_id=route.chat_id,
                      payload=reply_to_json(card), lead_id=lead.id, notify=ctx.services.on_outbox)
    had_keyboard = form.keyboard
    discard_form(ctx)
    if route.chat_id:
        text = t._("✅ Thank you! Your enquiry <b>{ref}</b> has been sent to {department}. "
                   "Staff will contact you; I will also let you know here when they take it up.", ref=h(lead.ref),
                   department=department(t, ctx.settings))
    else:
        # No staff chat is configured: the card waits in the outbox, so the buyer is not told it was sent.
        text = t._("✅ Thank you! Your enquiry <b>{ref}</b> is recorded. It has not reached the trade department's "
                   "staff yet; I will let you know here when someone takes it up.", ref=h(lead.ref))
    hours = await deadlines.load_hours(ctx.session)
    if not hours.is_open(lead.created_at):
        text += "\n" + h(t._("The department is closed now; staff will see it from {when} (Vietnam time).",
                              when=t.datetime(hours.next_opening(lead.created_at))))
    text += "\n" + h(t._("Keep the reference {ref} for any questions. /myenquiries lists your enquiries.", ref=lead.ref))
    return closing(t, text, had_keyboard, offer_new=False)


# --- answers, step by step


def valid_name(text: str) -> bool:
    """Looks like a name: 2–100 characters, some letters, hardly any digits."""
    return 2 <= len(text) <= lead_book.MAX_NAME and any(c.isalpha() for c in text) and \
        sum(c.isdigit() for c in text) <= 2


def _catalogue_item(product: Any) -> dict[str, str]:
    return {"slug": product.slug, "name_vi": product.name_vi, "name_en": product.name_en or ""}


def _add_product(form: EnquiryForm, item: dict[str, str]) -> bool:
    """Add unless already listed; False when it was a duplicate."""
    products = form.data.products
    key = item.get("slug") or "text:" + item.get("text", "").casefold()
    if any((p.get("slug") or "text:" + p.get("text", "").casefold()) == key for p in products):
        return False
    products.append(item)
    return True


async def answer_products(ctx: Context, form: EnquiryForm, text: str) -> list[Reply]:
    """A product typed: offer the catalogue matches as buttons, or keep the words when nothing matches."""
    t = form_t(ctx, form)
    products = form.data.products
    if _key(text) in DONE_WORDS:
        if form.pending and form.candidates:
            # A choice is still open: continuing now would silently drop the product typed.
            return await _offer_matches(ctx, form, form.pending, before=problem(t, t._(
                "First tap the product you meant, or keep your own words.")))
        return next_from_products(ctx, form)
    text = clean(text)
    if len(text) < 2 or not any(c.isalnum() for c in text) or ctx.intent.kind == intent.ORDINAL:
        if form.pending and form.candidates:  # "2" for the second choice: the choices carry no numbers
            return await _offer_matches(ctx, form, form.pending, before=problem(t, t._(
                "First tap the product you meant, or keep your own words.")))
        return show(ctx, form, before=problem(t, t._("Please type the name of a product.")))
    if len(text) > lead_book.MAX_PRODUCT_TEXT:
        return show(ctx, form, before=problem(t, t._("Please keep a product name under {limit} characters.",
                                                      limit=lead_book.MAX_PRODUCT_TEXT)))
    if len(products) >= lead_book.MAX_PRODUCTS:
        return show(ctx, form, before=problem(t, t._("You can list up to {limit} products in one enquiry; "
                                                      "tap Continue.", limit=lead_book.MAX_PRODUCTS)))
    answer = (await ctx.catalog()).index.search(text, limit=4)
    typed = fold(text)
    exact = [hit for hit in answer.results if typed in (fold(hit.doc.name_vi), fold(hit.doc.name_en))]
    if len(exact) == 1 or (len(answer.results) == 1 and answer.terms):
        # One product, named exactly: no need to ask "which one?".
        return await pick_product(ctx, form, (exact or answer.results)[0].doc.slug)
    if not answer.results and not answer.suggestions:
        return await not_a_product(ctx, form, text)
    return await _offer_matches(ctx, form, text)


def _later_answer(text: str, language: str) -> str:
    """What a typed text that matches no product reads as instead: "quantity" ("2 tấn"), "time" ("tháng sau",
    "hôm qua") or "" (perhaps a product the catalogue lacks, perhaps a place)."""
    try:
        parse_quantity(text, language)
        return "quantity"
    except QuantityError:
        pass
    try:
        parse_time_frame(text, local_today(), language)
        return "time"
    except TimeFrameError as refused:
        return "" if refused.problem == TimeProblem.MEANINGLESS else "time"


async def not_a_product(ctx: Context, form: EnquiryForm, text: str) -> list[Reply]:
    """Typed at the products question, matching nothing in the catalogue. Once a product is listed, an amount
    is the next question's answer (taken there); a time is refused; other words ("Hà Nội") are added only
    when the buyer says so. The first product is kept as written (a product the demo catalogue lacks)."""
    t = form_t(ctx, form)
    later = _later_answer(text, t.language)
    products = form.data.products
    if later and form.pending and form.candidates:
        # A choice is still open: answering the next question now would silently drop the product typed.
        return await _offer_matches(ctx, form, form.pending, before=problem(t, t._(
            "First tap the product you meant, or keep your own words.")))
    if later == "quantity" and products and not form.editing:
        taken = noted(t, "products", product_names(form, t.language))
        form.step, form.candidates, form.pending = "quantity", [], ""
        clear_quantities(form)
        replies = answer_text(ctx, form, text)
        replies[0].text = taken + "\n" + replies[0].text
        return replies
    if later:
        why = (t._("“{text}” is not a product name. Tap Continue once your products are all listed; the quantity, "
                   "delivery place and time come next.", text=text) if products
               else t._("“{text}” is not a product name. Please type the product first; the quantity, delivery "
                        "place and time come next.", text=text))
        return show(ctx, form, before=problem(t, why))
    if not products:
        _add_product(form, {"slug": "", "text": text})
        before = "✓ " + h(t._("“{text}” is not in our catalogue; I will pass it on as you wrote it.", text=text))
        return show(ctx, form, before=before)
    form.candidates, form.pending = [], text
    save_form(ctx, form)
    ask = t._("“{text}” is not in our catalogue. Add it to your products as written, or go on to the quantity?",
              text=text)
    buttons = [[Button(cards.short_label(t._("Add “{text}”", text=text)), "enq:pt")],
               [Button(t._("Continue »"), "enq:next")], nav_row(t, form, "products")]
    return [Reply(h(ask), buttons)]


async def _offer_matches(ctx: Context, form: EnquiryForm, text: str, *, before: str = "") -> list[Reply]:
    """The catalogue matches for the typed words as buttons, or the words kept when nothing matches."""
    t = form_t(ctx, form)
    answer = (await ctx.catalog()).index.search(text, limit=4)
    hits = (answer.results or answer.suggestions)[:4]
    buttons: list[list[Button]] = []
    for hit in hits:
        name = hit.doc.name_en if t.language == "en" and hit.doc.name_en else hit.doc.name_vi
        button = cards.payload_button(name, f"enq:p:{hit.doc.slug}")
        if button is not None:
            buttons.append([button])
    if not buttons:
        _add_product(form, {"slug": "", "text": text})
        before = "✓ " + h(t._("“{text}” is not in our catalogue; I will pass it on as you wrote it.", text=text))
        return show(ctx, form, before=before)
    form.candidates = [hit.doc.slug for hit in hits]
    form.pending = text
    buttons.append([Button(cards.short_label(t._("Keep “{text}” as written", text=text)), "enq:pt")])
    buttons.append(nav_row(t, form, "products"))
    save_form(ctx, form)
    ask = h(t._("Which product do you mean? Tap one, or keep your own words."))
    return [Reply(f"{before}\n{ask}" if before else ask, buttons)]


def next_from_products(ctx: Context, form: EnquiryForm) -> list[Reply]:
    """Continue once at least one product is listed."""
    t = form_t(ctx, form)
    if not form.data.products:
        return show(ctx, form, before=problem(t, t._("Please name at least one product first.")))
    return advance(ctx, form, noted(t, "products", product_names(form, t.language)))


async def pick_product(ctx: Context, form: EnquiryForm, slug: str) -> list[Reply]:
    """A catalogue match tapped: add it to the list."""
    t = form_t(ctx, form)
    if form.step != "products":
        return show(ctx, form)
    if len(form.data.products) >= lead_book.MAX_PRODUCTS:
        return show(ctx, form, before=problem(t, t._("You can list up to {limit} products in one enquiry; "
                                                      "tap Continue.", limit=lead_book.MAX_PRODUCTS)))
    found = (await ctx.catalog()).products_by_slug([slug]) if cards.valid_slug(slug) else []
    if not found:
        return show(ctx, form, before=problem(t, t._("That product is no longer in the catalogue.")))
    added = _add_product(form, _catalogue_item(found[0]))
    form.candidates, form.pending = [], ""
    label = lead_book.product_label(_catalogue_item(found[0]), t.language)
    before = "✓ " + h(t._("Added: {product}", product=label) if added else t._("Already listed: {product}", product=label))
    return show(ctx, form, before=before)


def keep_typed_product(ctx: Context, form: EnquiryForm) -> list[Reply]:
    """Add the buyer's own words as a product."""
    t = form_t(ctx, form)
    pending = form.pending
    if form.step != "products" or not pending:
        return show(ctx, form)
    _add_product(form, {"slug": "", "text": pending})
    form.candidates, form.pending = [], ""
    return show(ctx, form, before="✓ " + h(t._("Added: {product}", product=pending)))


def _bounded_text(t: Translator, text: str, limit: int) -> tuple[str, str]:
    """(clean text, '') or ('', problem)."""
    value = clean(text)
    if len(value) > limit:
        return "", t._("That is too long: please keep it under {limit} characters.", limit=limit)
    return value, ""


def answer_text(ctx: Context, form: EnquiryForm, text: str) -> list[Reply]:
    """A typed answer to the current question (products are handled by `answer_products`)."""
    t = form_t(ctx, form)
    step = form.step
    data = form.data
    key = _key(text)
    if step in OPTIONAL and key in SKIP_WORDS:
        data.set(step, "")
        return advance(ctx, form, "✓ " + h(t._("Skipped.")))
    if step == "quantity":
        if per_product(form):
            return answer_quantities(ctx, form, text)
        try:
            quantity = parse_quantity(text, t.language)
        except QuantityError as error:
            return show(ctx, form, before=problem(t, t._(QUANTITY_PROBLEMS[error.problem])))
        data.quantity = quantity.canonical()
        if len(data.products) == 1:
            data.products[0]["quantity"] = data.quantity
        return advance(ctx, form, noted(t, "quantity", lead_book.format_quantity(data.quantity, t)))
    if step == "place":
        value, error = _bounded_text(t, text, lead_book.MAX_PLACE)
        if not error and (len(value) < 2 or not any(c.isalpha() for c in value)):
            error = t._("Please write the delivery place, e.g. a province, district or address.")
        if error:
            return show(ctx, form, before=problem(t, error))
        data.place = value
        return advance(ctx, form, noted(t, "place", value))
    if step == "time":
        value, error = _bounded_text(t, text, lead_book.MAX_TIME_FRAME)
        if not error:
            try:
                taken = parse_time_frame(value, local_today(), t.language)
                value = taken if len(taken) <= lead_book.MAX_TIME_FRAME else value  # the column holds 200
            except TimeFrameError as refused:
                error = t._(TIME_PROBLEMS[refused.problem], today=t.date(local_today()))
        if error:
            return show(ctx, form, before=problem(t, error))
        data.time = value
        return advance(ctx, form, noted(t, "time", value))
    if step == "name":
        value = clean(text)
        if not valid_name(value):
            return show(ctx, form, before=problem(t, t._("Please write your name (2 to {limit} characters, letters).",
                                                          limit=lead_book.MAX_NAME)))
        data.name = value
        return advance(ctx, form, noted(t, "name", value))
    if step == "organisation":
        value, error = _bounded_text(t, text, lead_book.MAX_ORGANISATION)
        if not error and not any(c.isalnum() for c in value):
            error = t._("Please write the name of your company or shop, or tap Skip.")
        if error:
            return show(ctx, form, before=problem(t, error))
        data.organisation = value
        return advance(ctx, form, noted(t, "organisation", value))
    if step == "phone":
        return answer_phone(ctx, form, text)
    if step == "email":
        email = parse_email(text)
        if email is None:
            return show(ctx, form, before=problem(t, t._("That does not look like an e-mail address (like "
                                                          "name@example.com). Please check it, or tap Skip.")))
        data.email = email
        return advance(ctx, form, noted(t, "email", email))
    if step == "notes":
        value, error = _bounded_text(t, text, lead_book.MAX_NOTES)
        if error:
            return show(ctx, form, before=problem(t, error))
        data.notes = value
        return advance(ctx, form, noted(t, "notes", value))
    if step == "consent":
        if key in YES_WORDS:
            return give_consent(ctx, form)
        if key in NO_WORDS:
            return ask_discard(ctx, form)
        return show(ctx, form, before=problem(t, t._("Please tap “I agree” or “No”.")))
    if step == "summary":
        return show(ctx, form, before=problem(t, t._("Tap Confirm to send, Edit a field to change something, "
                                                      "or Cancel.")))
    return show(ctx, form)


def answer_quantities(ctx: Context, form: EnquiryForm, text: str) -> list[Reply]:
    """Several products: each amount goes to the product it names ("1,5 tấn vải và 500 kg mỳ"); one amount
    naming none goes to the product asked about; the next product without a quantity is asked next."""
    t = form_t(ctx, form)
    products = form.data.products
    try:
        pieces = split_quantities(text, t.language)
    except QuantityError as error:
        return show(ctx, form, before=problem(t, t._(QUANTITY_PROBLEMS[error.problem])))
    names = [name_words(" ".join((p.get("name_vi", ""), p.get("name_en", ""), p.get("text", ""))))
             for p in products]
    chosen = [named_product(piece.words, names) for piece in pieces]
    wanted = quantity_wanted(form)
    if len(pieces) == 1 and chosen[0] is None and wanted is not None:
        chosen = [products.index(wanted)]  # an amount that names no product: the one asked about
    unnamed = [i for i, c in enumerate(chosen) if c is None]
    if unnamed:
        # Several amounts, some naming no product: bare amounts ("300 chai, 200 con") go in the order of the
        # products still without one, if they are exactly as many; otherwise (or when their words name
        # something not listed) which amount is for which product is not clear.
        left = [i for i, p in enumerate(products) if not p.get("quantity") and i not in chosen]
        if len(left) != len(unnamed) or any(name_words(pieces[i].words) for i in unnamed):
            return show(ctx, form, before=problem(t, t._(
                "I could not tell which product each amount is for. Please name the product after each amount, "
                "e.g. <i>1.5 tonnes of lychee, 500 kg of noodles</i>, or answer for one product at a time.")))
        for piece_index, product_index in zip(unnamed, left, strict=True):
            chosen[piece_index] = product_index
    if len(set(chosen)) != len(chosen):
        return show(ctx, form, before=problem(t, t._(
            "Two amounts seem to be for the same product. Please give one amount per product.")))
    taken: list[str] = []
    for piece, index in zip(pieces, chosen, strict=True):
        assert index is not None
        quantity: Quantity = without_name(piece.quantity, names[index])
        products[index]["quantity"] = quantity.canonical()
        taken.append(lead_book.product_label(products[index], t.language))
    sync_quantity(form)
    if any(not p.get("quantity") for p in products):
        form.candidates, form.pending = [], ""
        return show(ctx, form, before="✓ " + h("; ".join(taken)))
    return advance(ctx, form, noted(t, "quantity", field_value(form, "quantity", t)))


def answer_phone(ctx: Context, form: EnquiryForm, text: str, *, shared: bool = False) -> list[Reply]:
    """A typed or shared phone number, validated with phonenumbers (Vietnam by default)."""
    t = form_t(ctx, form)
    phone = parse_phone(text)
    if phone is None:
        why = (t._("The shared contact has no phone number I can use. Please type your number.") if shared
               else t._("That does not look like a valid phone number. Please type it like 0912 345 678 or "
                        "+84 912 345 678, or tap “Share my phone number”."))
        return show(ctx, form, before=problem(t, why))
    form.data.phone = phone
    return advance(ctx, form, noted(t, "phone", display_phone(phone)))


def give_consent(ctx: Context, form: EnquiryForm) -> list[Reply]:
    """Consent given: on to the summary."""
    form.data.consent = True
    form.step = "summary"
    form.editing = False
    return show(ctx, form)


def ask_discard(ctx: Context, form: EnquiryForm) -> list[Reply]:
    """"No" at consent would throw every answer away: ask first."""
    t = form_t(ctx, form)
    form.confirming = "discard"
    save_form(ctx, form)
    text = t._("Without your consent the enquiry cannot be sent, and all your answers will be discarded. "
               "Discard the enquiry?")
    return [Reply(h(text), [[Button(t._("Yes, discard it"), "enq:discard"),
                             Button(t._("No, go back"), "enq:resume")]])]


def refuse_consent(ctx: Context, form: EnquiryForm) -> list[Reply]:
    """No consent, confirmed: the form is discarded and nothing is stored."""
    t = form_t(ctx, form)
    had_keyboard = form.keyboard
    discard_form(ctx)
    text = t._("Understood. Without your consent I cannot pass the enquiry on, so nothing has been stored. "
               "You can still find products, shops and the department's contacts here.")
    return closing(t, h(text), had_keyboard)


# --- buyers' own data


async def my_enquiries(ctx: Context) -> list[Reply]:
    """/myenquiries: the buyer's own enquiries with where each stands."""
    t = ctx.t
    found = await lead_book.buyer_leads(ctx.session, ctx.incoming.channel, ctx.incoming.user_id)
    if not found:
        return [Reply(h(t._("You have no wholesale enquiries with us yet.")),
                      [[Button(t._("📦 New enquiry"), "enq:start")], cards.menu_row(t)])]
    lines = ["<b>" + h(t._("Your wholesale enquiries:")) + "</b>"]
    for lead in found:
        status = lead.status if lead.status in ("new", "claimed", "contacted") else "closed"
        state = {"new": t._("received"), "claimed": t._("being handled"), "contacted": t._("being handled"),
                 "closed": t._("closed")}[status]
        products = ", ".join(lead_book.product_label(p, t.language, quantity=False) for p in lead.products or [])
        lines.append(f"• <b>{h(lead.ref)}</b> · {h(t.datetime(lead.created_at))} · {h(products)} · "
                     f"{h(lead_book.format_quantity(lead.quantity, t))} · {h(state)}")
    lines += ["", h(t._("To erase your name and contact details from them, send /forget."))]
    return [Reply("\n".join(lines), [cards.menu_row(t)])]


async def ask_forget(ctx: Context, rest: str = "") -> list[Reply]:
    """/forget: say what will be erased and ask before erasing anything."""
    t = ctx.t
    text = t._("This erases your name, organisation, phone number, e-mail, notes and chat details from your "
               "wholesale enquiries, and any enquiry you have started. It cannot be undone. Erase them?")
    return [Reply(h(text), [[Button(t._("Yes, erase my details"), "enq:forget"),
                             Button(t._("No, keep them"), "m:start")]])]


async def forget(ctx: Context) -> list[Reply]:
    """Erase the buyer's personal data from their leads (kept, anonymised, for statistics) and any open form."""
    t = ctx.t
    open_form = load_form(ctx)
    had_form = open_form is not None
    had_keyboard = bool(open_form and open_form.keyboard)
    discard_form(ctx)
    # Only a number and a date stay behind, so that erasing does not reset the daily enquiry limit.
    today = await lead_book.leads_today(ctx.session, ctx.incoming.channel, ctx.incoming.user_id)
    if today:
        await lead_book.add_erased_today(ctx.session, ctx.incoming.channel, ctx.incoming.user_id, today)
    erased = await lead_book.forget_buyer(ctx.session, ctx.incoming.channel, ctx.incoming.user_id)
    for lead in erased:
        payload = anonymised_card_payload(lead, ctx.settings.staff_language)
        await lead_book.replace_card_payloads(ctx.session, lead, payload, notify=ctx.services.on_outbox)
    if erased:
        text = t.n_(
            "Done: I have erased your name, organisation, phone number, e-mail, notes and chat details from "
            "{n} enquiry. It stays in the department's statistics without them.",
            "Done: I have erased your name, organisation, phone number, e-mail, notes and chat details from "
            "{n} enquiries. They stay in the department's statistics without them.",
            len(erased),
        )
    else:
        text = t._("There are no enquiry details of yours stored with us.")
    if had_form:
        text += " " + t._("The enquiry you had started was discarded too.")
    return closing(t, h(text), had_keyboard, offer_new=False)


# --- what the router sends here


class Turn(Enum):
    """What an open form says of a message that is not its answer."""

    LEAVE = "leave"  # /start, the menu, a greeting: the form is kept as a draft and the rest of the bot answers
    YIELD = "yield"  # help, a language switch, a question: the rest of the bot answers and the form waits


# Words that make a typed message a question rather than an answer, whatever the step (accent-aware: "ở đâu").
QUESTION_CUES = (
    "liên hệ ai", "hỏi ai", "gặp ai", "ai bán", "ai làm", "ở đâu", "chỗ nào", "nơi nào", "bao nhiêu", "là gì",
    "thế nào", "như thế nào", "ra sao", "tại sao", "vì sao", "được không", "có không", "phải không",
    "who", "where", "how much", "how many", "what is", "what are", "what's", "which", "why", "how do", "how can",
    "do you", "can i", "is there", "are there",
)
# Intents that are never an answer to a form question.
_NEVER_AN_ANSWER = (intent.STARS, intent.WHAT_IS_OCOP, intent.HOW_MANY, intent.BROWSE, intent.THANKS, intent.HELP)
# Steps whose answers are free text or contact details, where contact words can be part of the answer ("liên hệ
# qua Zalo", "call me on 0912…", "số điện thoại của tôi là 0912…").
_FREE_TEXT_STEPS = ("place", "name", "organisation", "notes", "phone", "email")


def asks_question(ctx: Context, text: str) -> bool:
    """Worded as a question: a question word ("ở đâu", "who", "how much"), or "?" after more than a product name."""
    if intent.has_any(intent.words(text), QUESTION_CUES):
        return True
    return "?" in text and ctx.intent.kind not in (intent.PRODUCT, intent.ORDINAL)


def is_question(ctx: Context, text: str) -> bool:
    """Something to answer in the middle of the form ("mua vải thiều ở đâu?", "what do the stars mean")."""
    return ctx.intent.kind in _NEVER_AN_ANSWER or asks_question(ctx, text)


def open_form(ctx: Context) -> EnquiryForm | None:
    """The form the buyer is answering now (not a paused draft)."""
    form = load_form(ctx)
    return form if form is not None and not form.paused else None


async def expire(ctx: Context) -> list[Reply] | None:
    """A form left longer than OCOP_ENQUIRY_EXPIRY_HOURS is discarded and the buyer told (or a new one started,
    when that is what they tapped); None when there is no such form."""
    form = load_form(ctx)
    if form is None or not expired(ctx):
        return None
    t = form_t(ctx, form)
    discard_form(ctx)
    hours = ctx.settings.enquiry_expiry_hours
    note = t._("Your unfinished wholesale enquiry expired after {hours} hours without an answer and was "
               "discarded; nothing was sent.", hours=t.number(hours))
    data = Enquiry.unpack(ctx.incoming.payload or "")
    if data is not None and data.action in ("start", "restart"):
        return await start(ctx, slug=data.arg, before="⚠️ " + h(note))
    return closing(t, "⚠️ " + h(note), form.keyboard)


def pause(ctx: Context) -> None:
    """Leave the open form as a draft (its age is not reset: it still expires on time)."""
    form = load_form(ctx)
    if form is not None and not form.paused:
        form.paused = True
        form.confirming = ""
        save_form(ctx, form, touch=False)


def waiting(ctx: Context, *, left: bool = False) -> Reply | None:
    """Under an answer given while a form waits: the way back to it."""
    form = load_form(ctx)
    if form is None:
        return None
    t = form_t(ctx, form)
    text = (t._("Your bulk enquiry is kept as a draft; you can go on with it later.") if left
            else t._("Continue your bulk enquiry?"))
    return Reply(h(text), [[Button(t._("Continue »"), "enq:resume")]])


async def first_look(ctx: Context, form: EnquiryForm) -> list[Reply] | Turn:
    """A message while the form is open: its answer (taken, or explained and asked again), or what else it is."""
    incoming = ctx.incoming
    step = form.step
    t = form_t(ctx, form)
    if incoming.contact is not None:
        if step == "phone":
            return answer_phone(ctx, form, incoming.contact.phone, shared=True)
        return show(ctx, form)
    if incoming.location is not None:
        if step == "place":
            location = incoming.location
            form.data.place = f"📍 {location.latitude:.5f}, {location.longitude:.5f}"
            return advance(ctx, form, noted(t, "place", form.data.place))
        return Turn.YIELD
    text = incoming.text or ""
    if not text.strip():
        return show(ctx, form)
    if len(text) > MAX_ANSWER_CHARS:
        return show(ctx, form, before=problem(t, t._("That is too long: please keep it under {limit} characters.",
                                                      limit=MAX_ANSWER_CHARS)))
    key = _key(text)
    if form.confirming == "cancel":  # "Cancel this bulk enquiry?" was asked
        form.confirming = ""
        if key in YES_WORDS or wants_to_cancel(text):
            return cancel(ctx, form)
        if key in NO_WORDS:
            return show(ctx, form)
    if wants_to_cancel(text):
        return ask_cancel(ctx, form)
    if key in BACK_WORDS:
        return go_back(ctx, form)
    if form.confirming == "discard":
        if key in YES_WORDS:
            return refuse_consent(ctx, form)
        form.confirming = ""
        if key in NO_WORDS:
            return show(ctx, form)
    if key in MENU_WORDS or ctx.intent.kind == intent.GREETING:
        return Turn.LEAVE
    if ctx.intent.kind == intent.LANGUAGE and len(text) <= 40:
        return Turn.YIELD  # the language feature switches; the form continues in the new language
    if is_question(ctx, text) or (ctx.intent.kind == intent.CONTACT and step not in _FREE_TEXT_STEPS):
        return Turn.YIELD
    if step == "products":
        return await answer_products(ctx, form, text)
    if step == "edit":
        return show(ctx, form)
    if step == "summary" and key in CONFIRM_WORDS:
        return await confirm(ctx, form)
    return answer_text(ctx, form, text)


def is_trigger(text: str) -> tuple[bool, str]:
    """Does a free message ask for a wholesale enquiry? Also returns the product words left in it."""
    ws = intent.words(text)
    if not intent.has_any(ws, TRIGGERS):
        return False, ""
    rest = intent.remove_phrases(intent.remove_phrases(ws, TRIGGERS), TRIGGER_FILLERS)
    return True, intent.rejoin(rest, text)


def in_progress(ctx: Context, form: EnquiryForm, slug: str = "") -> list[Reply]:
    """A new enquiry asked for while one is open or kept as a draft: continue it, or start again?"""
    t = form_t(ctx, form)
    restart = f"enq:restart:{slug}" if slug and len(f"enq:restart:{slug}".encode()) <= 64 else "enq:restart"
    return [Reply(h(t._("You already have an enquiry in progress. Continue it, or start a new one?")),
                  [[Button(t._("Continue"), "enq:resume"), Button(t._("Start a new one"), restart)]])]


async def on_wholesale_words(ctx: Context, rest: str) -> list[Reply]:
    """"mua sỉ", "bulk order": a new form (the product words in the message already looked up)."""
    form = load_form(ctx)
    if form is not None:
        return in_progress(ctx, form)
    return await start(ctx, text=rest)


async def on_button(ctx: Context, data: Enquiry) -> list[Reply]:
    """`enq:*` buttons."""
    action, arg = data.action, data.arg
    form = load_form(ctx)
    if action == "forget":
        return await forget(ctx)
    if action == "start":
        if form is not None:
            return in_progress(ctx, form, arg)
        return await start(ctx, slug=arg)
    if action == "restart":
        discard_form(ctx)
        return await start(ctx, slug=arg)
    if form is None:
        t = ctx.t
        return [Reply(h(t._("That enquiry form is no longer open.")),
                      [[Button(t._("📦 New enquiry"), "enq:start")], cards.menu_row(t)], notice="")]
    form.paused = False  # a button of the form brings it back
    confirming, form.confirming = form.confirming, ""
    if action == "cancel":  # the ✖ Cancel button asks first; "enq:cancel:yes" is the answer to a question
        return cancel(ctx, form) if arg == "yes" else ask_cancel(ctx, form)
    if action == "back":
        return go_back(ctx, form)
    if action == "resume":
        return show(ctx, form)
    if action == "discard" and confirming == "discard":
        return refuse_consent(ctx, form)
    step = form.step
    t = form_t(ctx, form)
    if action == "p" and arg:
        return await pick_product(ctx, form, arg)
    if action == "pt":
        return keep_typed_product(ctx, form)
    if action == "pclear" and step == "products":
        form.data.products = []
        return show(ctx, form)
    if action == "next" and step == "products":
        return next_from_products(ctx, form)
    if action == "tf" and step == "time" and arg in lead_book.TIME_FRAMES:
        form.data.time = arg
        return advance(ctx, form, noted(t, "time", lead_book.time_frame_label(arg, t)))
    if action == "name" and step == "name":
        own = clean(ctx.incoming.display_name)
        if valid_name(own):
            form.data.name = own
            return advance(ctx, form, noted(t, "name", own))
    if action == "skip" and step in OPTIONAL:
        form.data.set(step, "")
        return advance(ctx, form, "✓ " + h(t._("Skipped.")))
    if action == "consent" and step == "consent":
        return give_consent(ctx, form) if arg == "yes" else ask_discard(ctx, form)
    if action == "confirm" and step == "summary":
        return await confirm(ctx, form, again=arg == "again" and confirming == "duplicate")
    if action == "edit" and step in ("summary", "edit"):
        form.step = "edit"
        return show(ctx, form)
    if action == "summary" and step in ("edit", "summary"):
        form.step = "summary"
        return show(ctx, form)
    if action == "ed" and step == "edit" and arg in FIELDS:
        form.step = arg
        form.editing = True
        if arg == "quantity":
            clear_quantities(form)
        return show(ctx, form)
    # A button from an earlier message that no longer fits: show where the form is now.
    return show(ctx, form)


async def on_my_enquiries(ctx: Context, rest: str = "") -> list[Reply]:
    """/myenquiries."""
    return await my_enquiries(ctx)


async def on_cancel_command(ctx: Context, rest: str = "") -> list[Reply] | None:
    """/cancel: cancel the open form, asked first (None when there is none)."""
    form = load_form(ctx)
    return ask_cancel(ctx, form) if form is not None else None


async def on_back_command(ctx: Context, rest: str = "") -> list[Reply] | None:
    """/back: the previous question of the open form (None when there is none)."""
    form = load_form(ctx)
    if form is None:
        return None
    form.paused = False
    return go_back(ctx, form)
