"""Sending a digest: e-mail over SMTP (stdlib ``smtplib`` in a thread; ``BICHAT_SMTP_*``) and
a webhook (one JSON POST, Slack-compatible; a non-2xx answer is a failure)."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage

import httpx

from app.config import Settings
from app.errors import BichatError

EMAIL, WEBHOOK = "email", "webhook"


class DeliveryFailed(BichatError):
    code = "delivery_failed"


def email_message(settings: Settings, *, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.smtp_from, to, subject
    message.set_content(body)
    return message


def smtp_send(settings: Settings, message: EmailMessage) -> None:
    if not settings.smtp_host:
        raise DeliveryFailed("no SMTP server: set BICHAT_SMTP_HOST to send digests by e-mail")
    with smtplib.SMTP(
        settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s
    ) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username and settings.smtp_password:
            smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        smtp.send_message(message)


async def send_email(settings: Settings, *, to: str, subject: str, body: str) -> None:
    message = email_message(settings, to=to, subject=subject, body=body)
    try:
        await asyncio.to_thread(smtp_send, settings, message)
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryFailed(f"e-mail to {to} failed: {error}") from None


async def post_webhook(settings: Settings, url: str, payload: dict[str, object]) -> None:
    try:
        async with httpx.AsyncClient(timeout=settings.webhook_timeout_s) as client:
            response = await client.post(url, json=payload)
    except httpx.HTTPError as error:
        raise DeliveryFailed(f"webhook {url} failed: {error}") from None
    if not response.is_success:
        raise DeliveryFailed(f"webhook {url} answered {response.status_code}")
