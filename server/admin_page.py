"""The fleet page: every kiosk and today's queues, as server-rendered HTML.

GET /admin, for the technician's browser. It asks for HTTP Basic
authentication (RFC 7617) with any user name and an admin token as the
password, so a browser's own login prompt is the whole login; put the hub
behind TLS (docs/HUB.md) since Basic sends the token with every request.

No personal data is on the page: kiosks, devices, counts and numbers only.
It refreshes itself every 30 seconds.
"""

from __future__ import annotations

import base64
import binascii
import html
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from kiosk import __version__
from server.context import hub
from server.models import Department, Kiosk, NumberLease, QueueCounter
from server.models import Registration as RegistrationRow
from server.security import admin_token_valid

router = APIRouter()

# A kiosk that has not reported for this long is shown as silent: with the
# default 60 s heartbeat that is five missed beats.
SILENT_AFTER = timedelta(minutes=5)

_STYLE = """
body{font-family:"Noto Sans",DejaVu Sans,sans-serif;margin:1.5rem;color:#1b1b1b;background:#fafafa}
h1{font-size:1.5rem;margin:0 0 .25rem} h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
p.meta{color:#555;margin:0 0 1rem}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #ccc;padding:.4rem .6rem;text-align:left;vertical-align:top}
th{background:#eef2f6} td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#0a6b2d;font-weight:600} .bad{color:#a40000;font-weight:600} .muted{color:#777}
"""


def _authorised(request: Request) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    _user, sep, token = decoded.partition(":")
    if not sep or not token:
        return False
    ctx = hub(request)
    with ctx.sessions() as session:
        return admin_token_valid(session, token)


def _ago(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "chưa bao giờ / never"
    seconds = int((now - then).total_seconds())
    if seconds < 90:
        return f"{max(0, seconds)} s"
    if seconds < 90 * 60:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _devices(devices: dict[str, Any] | None) -> str:
    if not devices:
        return '<span class="muted">—</span>'
    parts = []
    for name, status in sorted(devices.items()):
        ok = status.get("ok") if isinstance(status, dict) else None
        detail = status.get("detail") if isinstance(status, dict) else status
        css = "ok" if ok is True else "bad" if ok is False else "muted"
        word = "OK" if ok is True else "LỖI / FAULT" if ok is False else "?"
        text = f'<span class="{css}">{html.escape(str(name))}: {word}</span>'
        if detail and ok is not True:
            text += f' <span class="muted">({html.escape(str(detail))[:200]})</span>'
        parts.append(text)
    return "<br>".join(parts)


def _band(prefix: str, leased: tuple[int, int, int] | None) -> str:
    """How many outage numbers kiosks hold today, and where they lie."""
    if not leased:
        return "—"
    count, lowest, highest = leased
    return f"{count} ({html.escape(prefix)}-{lowest:03d} … {html.escape(prefix)}-{highest:03d})"


def render_fleet(request: Request) -> str:
    ctx = hub(request)
    now = ctx.now()
    today = now.date()
    with ctx.sessions() as session:
        kiosks = session.scalars(select(Kiosk).order_by(Kiosk.created_at)).all()
        departments = session.scalars(select(Department).order_by(Department.sort_order, Department.code)).all()
        counters = {
            c.department_code: c.last_number
            for c in session.scalars(select(QueueCounter).where(QueueCounter.service_day == today)).all()
        }
        leased = {
            code: (count, lowest, highest)
            for code, count, lowest, highest in session.execute(
                select(
                    NumberLease.department_code,
                    func.sum(NumberLease.last_number - NumberLease.first_number + 1),
                    func.min(NumberLease.first_number),
                    func.max(NumberLease.last_number),
                )
                .where(NumberLease.service_day == today)
                .group_by(NumberLease.department_code)
            ).all()
        }
        visits = dict(
            session.execute(
                select(RegistrationRow.department_code, func.count())
                .where(RegistrationRow.service_day == today)
                .group_by(RegistrationRow.department_code)
            ).all()
        )

    kiosk_rows = []
    for k in kiosks:
        silent = k.last_seen_at is None or now - k.last_seen_at > SILENT_AFTER
        state = (
            '<span class="muted">tắt / disabled</span>'
            if not k.active
            else '<span class="bad">im lặng / silent</span>'
            if silent
            else '<span class="ok">hoạt động / online</span>'
        )
        depth = "—" if k.outbox_depth is None else str(k.outbox_depth)
        kiosk_rows.append(
            f'<tr data-kiosk="{html.escape(k.kiosk_id)}"><td>{html.escape(k.kiosk_id)}</td><td>{html.escape(k.name)}</td>'
            f"<td>{state}</td><td>{_ago(now, k.last_seen_at)}</td><td>{html.escape(k.version or '—')}</td>"
            f'<td>{_devices(k.devices)}</td><td class="num">{depth}</td></tr>'
        )
    queue_rows = []
    for d in departments:
        if not d.active:
            continue
        issued = counters.get(d.code, 0)
        queue_rows.append(
            f'<tr data-department="{html.escape(d.code)}"><td>{html.escape(d.name_vi)}<br>'
            f'<span class="muted">{html.escape(d.name_en)}</span></td>'
            f"<td>{html.escape(d.room)} (tầng {html.escape(d.floor)})</td>"
            f'<td class="num">{visits.get(d.code, 0)}</td>'
            f'<td class="num">{html.escape(d.queue_prefix) + f"-{issued:03d}" if issued else "—"}</td>'
            f'<td class="num">{max(0, d.daily_capacity - visits.get(d.code, 0))}</td>'
            f'<td class="num">{_band(d.queue_prefix, leased.get(d.code))}</td></tr>'
        )
    empty_kiosks = '<tr><td colspan="7" class="muted">Chưa có máy nào / no kiosks yet</td></tr>'
    return f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8"><meta http-equiv="refresh" content="30">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Kiosk hub — {html.escape(ctx.settings.hospital_name)}</title><style>{_STYLE}</style></head>
<body>
<h1>{html.escape(ctx.settings.hospital_name)} — máy tự phục vụ / kiosks</h1>
<p class="meta">Ngày / day {today:%d/%m/%Y}, {now:%H:%M} · hub {html.escape(__version__)} ·
<a href="/docs">API</a></p>
<h2>Máy kiosk / Kiosks</h2>
<table id="kiosks"><thead><tr><th>ID</th><th>Vị trí / place</th><th>Trạng thái / state</th>
<th>Lần cuối / last seen</th><th>Phiên bản / version</th><th>Thiết bị / devices</th>
<th>Chờ gửi / outbox</th></tr></thead>
<tbody>{"".join(kiosk_rows) or empty_kiosks}</tbody></table>
<h2>Hàng đợi hôm nay / Today's queues</h2>
<table id="queues"><thead><tr><th>Khoa / department</th><th>Phòng / room</th><th>Lượt đăng ký / visits</th>
<th>Số cuối / last number</th><th>Còn lại / left today</th>
<th title="Số cấp trước cho máy kiosk dùng khi mất mạng (từ trăm đầu tiên trên công suất) / numbers leased to kiosks for outages, from the first hundred above capacity">Số dự phòng mất mạng / outage numbers</th></tr></thead>
<tbody>{"".join(queue_rows)}</tbody></table>
</body></html>"""


@router.get("/admin", response_class=HTMLResponse, tags=["admin"], summary="Fleet page: kiosks and today's queues (HTML)")
def fleet_page(request: Request) -> Response:
    if not _authorised(request):
        return Response(
            "Admin token required: any user name, the token as password.",
            status_code=401,
            headers={"WWW-Authenticate": 'Basic realm="kiosk hub", charset="UTF-8"'},
            media_type="text/plain; charset=utf-8",
        )
    return HTMLResponse(
        render_fleet(request),
        headers={
            # Nothing on the page loads anything; say so to the browser.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
