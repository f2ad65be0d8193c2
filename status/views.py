"""The public status page and its machine-readable twins (SPEC §4), and subscriptions.

No output here depends on who asks: nothing reads the session, and the page, JSON and
feed are served from ``publish``'s cache with an ETag and a short max-age.
"""

from __future__ import annotations

import hashlib

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from agreements import display
from agreements.models import Service
from portal import limits
from status import publish, subscriptions
from status.forms import SubscribeForm
from status.snapshot import UPTIME_WINDOWS, service_state, uptime_of


def _cacheable(
    request: HttpRequest, body: bytes, etag: str, content_type: str, *, revalidate: bool = False
) -> HttpResponse:
    # The page is asked again on every visit (a reload during an outage must show the
    # latest news) and costs a 304 when unchanged; feeds, JSON and badges, read by
    # machines and embedded elsewhere, may be reused for the max-age.
    control = "no-cache" if revalidate else f"public, max-age={publish.CACHE_SECONDS}"
    headers = {"ETag": etag, "Cache-Control": control}
    if etag in request.headers.get("If-None-Match", ""):
        return HttpResponse(status=304, headers=headers)
    return HttpResponse(body, content_type=content_type, headers=headers)


def _accepts_gzip(request: HttpRequest) -> bool:
    """Whether Accept-Encoding names gzip with a q-value above zero (RFC 9110 §12.5.3)."""
    for coding in request.headers.get("Accept-Encoding", "").split(","):
        name, *params = (part.strip() for part in coding.split(";"))
        if name.lower() not in ("gzip", "x-gzip"):
            continue
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


def _published(
    request: HttpRequest, output: publish.Output, content_type: str, *, revalidate: bool = False
) -> HttpResponse:
    """A cached output, gzip-compressed for clients that accept it: each representation has
    its own ETag, and ``Vary: Accept-Encoding`` tells shared caches to keep them apart."""
    if _accepts_gzip(request):
        etag = f'{output.etag[:-1]}-gzip"'
        response = _cacheable(request, output.gzipped, etag, content_type, revalidate=revalidate)
        if response.status_code == 200:
            response["Content-Encoding"] = "gzip"
    else:
        response = _cacheable(
            request, output.body, output.etag, content_type, revalidate=revalidate
        )
    response["Vary"] = "Accept-Encoding"
    return response


@csrf_exempt  # read-only: a POST gets 405, not a CSRF refusal
@require_safe
def page(request: HttpRequest) -> HttpResponse:
    output = publish.cached("status:page", publish.page_bytes)
    return _published(request, output, "text/html; charset=utf-8", revalidate=True)


@csrf_exempt  # read-only: a POST gets 405, not a CSRF refusal
@require_safe
def status_json(request: HttpRequest) -> HttpResponse:
    return _published(
        request, publish.cached("status:json", publish.json_bytes), "application/json"
    )


@csrf_exempt  # read-only: a POST gets 405, not a CSRF refusal
@require_safe
def feed(request: HttpRequest) -> HttpResponse:
    output = publish.cached("status:feed", publish.feed_bytes)
    return _published(request, output, "application/atom+xml; charset=utf-8")


BADGE_CHAR_WIDTH = 7  # px per character of the 11 px sans-serif the badge uses


@csrf_exempt  # read-only: a POST gets 405, not a CSRF refusal
@require_safe
def badge(request: HttpRequest, service: str) -> HttpResponse:
    """An SVG badge of a public service: its state, or with ``?uptime=24h|7d|30d|90d``
    its uptime over that window (rule 5, coverage always). Unknown or non-public
    services are 404, an unknown window 400."""
    found = Service.objects.filter(key=service, public=True).first()
    if found is None:
        raise Http404("no public service of that name")
    now = timezone.now()
    window = request.GET.get("uptime")
    if window is None:
        state = service_state(found, now=now)
        label, value, colour = found.name or found.key, state.label.lower(), state.value
    elif window in UPTIME_WINDOWS:
        achieved = uptime_of(found, window, now=now)
        label, value = f"uptime {window}", display.percent(achieved)
        colour = "operational" if achieved is None or achieved >= 99 else "outage"
    else:
        return HttpResponse(
            f"uptime must be one of {', '.join(UPTIME_WINDOWS)}",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    left = 10 + BADGE_CHAR_WIDTH * len(label)
    right = 10 + BADGE_CHAR_WIDTH * len(value)
    body = render_to_string(
        "status/badge.svg",
        {
            "label": label,
            "value": value,
            "colour": colour,
            "left": left,
            "right": right,
            "width": left + right,
            "left_mid": left // 2,
            "right_mid": left + right // 2,
        },
    ).encode()
    return _cacheable(request, body, f'"{hashlib.sha256(body).hexdigest()[:32]}"', "image/svg+xml")


@require_http_methods(["GET", "HEAD", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    """The subscription form. A valid request is answered the same whether or not the
    address is known: the email sent to it says what happens next."""
    form = SubscribeForm(request.POST or None)
    if request.method != "POST":
        return render(request, "status/subscribe.html", {"form": form})
    if not limits.subscribe_allowed_from(request):
        return render(request, "status/subscribe.html", {"form": form, "limited": True}, status=429)
    if not form.is_valid():
        return render(request, "status/subscribe.html", {"form": form}, status=400)
    email = form.cleaned_data["email"]
    if limits.subscribe_allowed_for(email):
        subscriptions.subscribe(email=email, services=form.cleaned_data["services"])
    return render(request, "status/subscribe_sent.html", {"email": email})


@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (mail scanners follow links), POST confirms."""
    subscriber = subscriptions.from_confirm_token(token)
    if subscriber is None:
        return render(request, "status/message.html", {"bad_link": True}, status=400)
    if request.method == "POST":
        subscriptions.confirm(subscriber=subscriber)
        return render(request, "status/message.html", {"confirmed": True})
    return render(request, "status/confirm.html", {"subscriber": subscriber})


@csrf_exempt  # RFC 8058 one-click: the mail client POSTs without a form; the token is the proof
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = subscriptions.from_unsubscribe_token(token)
    if request.method == "POST":
        if subscriber is not None:
            subscriptions.unsubscribe(subscriber=subscriber)
        # Unsubscribing twice (or a stale link) ends the same way: no more email.
        return render(request, "status/message.html", {"unsubscribed": True})
    if subscriber is None:
        return render(request, "status/message.html", {"unsubscribed": True})
    return render(request, "status/unsubscribe.html", {"subscriber": subscriber})
