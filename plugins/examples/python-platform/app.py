"""An example kolhost platform plugin in Python: Douyin push deliveries.

Verifies `event-sign = md5(app_key + body + app_secret)` (or HMAC-SHA256 with the header
`sign-method: hmac-sha256`) and turns tag 101 (order paid) into an `order-notice` and tag 206
(refund succeeded) into an `order-refunded`; other tags give no event. Reads `app_key` from the
plugin's config and `app_secret` from its secrets, so its manifest grants `config` only: the
other kolhost interfaces componentize-py imports are linked to stubs that refuse every call.

Build (see plugins/README.md):
    componentize-py -d ../../wit/since_v0.2.0 -w platform componentize app -o python_platform.wasm
"""

import hashlib
import hmac
import json
from datetime import datetime, timezone

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import config
from wit_world.imports.platform_types import (
    Delivery,
    Event,
    EventBody_OrderNotice,
    EventBody_OrderRefunded,
    OrderNotice,
    OrderRefunded,
    Parsed,
    PollResult,
    Reply,
)
from wit_world.imports.types import (
    PluginError_Config,
    PluginError_Malformed,
    PluginError_Unauthorized,
    PluginInfo,
)

REPLY = Reply(status=200, content_type="application/json", body=b'{"code":0,"msg":"success"}')


def header(d: Delivery, name: str):
    for k, v in d.headers:
        if k == name:
            return v.strip()
    return None


def credentials():
    key = config.get("app_key")
    if key is None:
        raise Err(PluginError_Config("app_key is not set"))
    secret = config.get_secret("app_secret")
    if secret is None:
        raise Err(PluginError_Config("secret app_secret is not set"))
    return key, secret


def rfc3339(unix_seconds) -> str:
    t = datetime.fromtimestamp(int(unix_seconds), timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def fen(data: dict, field: str) -> int:
    v = int(data[field])
    if v < 0:
        raise Err(PluginError_Malformed(f"{field} is negative"))
    return v


def event(message: dict):
    tag = str(message["tag"]).strip()
    data = json.loads(message["data"])
    key = str(message["msg_id"])
    if tag == "101":
        body = EventBody_OrderNotice(
            OrderNotice(
                platform_order_id=str(data["p_id"]),
                sub_order_ids=[str(s) for s in data.get("s_ids", [])],
                paid_fen=fen(data, "pay_amount"),
                paid_at=rfc3339(data["pay_time"]),
            )
        )
    elif tag == "206":
        sub = str(data.get("s_id", "0"))
        body = EventBody_OrderRefunded(
            OrderRefunded(
                platform_order_id=str(data["p_id"]),
                sub_order_id=None if sub == "0" else sub,
                refund_id=str(data["aftersale_id"]),
                refunded_fen=fen(data, "refund_amount"),
                refunded_at=rfc3339(data.get("success_time") or data["update_time"]),
            )
        )
    else:
        return None
    return Event(key=key, body=body, platform_status=tag)


class PlatformApi(exports.PlatformApi):
    def describe(self) -> PluginInfo:
        return PluginInfo(
            name="python-platform",
            version="0.1.0",
            platform="douyin",
            description="Example in Python: Douyin push deliveries (tags 101 and 206)",
        )

    def verify_webhook(self, delivery: Delivery) -> None:
        key, secret = credentials()
        app_id = header(delivery, "app-id")
        if app_id is not None and app_id != key:
            raise Err(PluginError_Unauthorized(f"the delivery is for app-id `{app_id}`"))
        sign = header(delivery, "event-sign")
        if sign is None:
            raise Err(PluginError_Unauthorized("the event-sign header is missing"))
        signed = key.encode() + bytes(delivery.body) + secret.encode()
        method = (header(delivery, "sign-method") or "md5").lower()
        if method == "md5":
            want = hashlib.md5(signed).hexdigest()
        elif method == "hmac-sha256":
            want = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        else:
            raise Err(PluginError_Unauthorized(f"unknown sign-method `{method}`"))
        if not hmac.compare_digest(want, sign.lower()):
            raise Err(PluginError_Unauthorized(f"event-sign does not match {method}"))

    def parse_webhook(self, delivery: Delivery) -> Parsed:
        try:
            messages = json.loads(bytes(delivery.body))
            events = [e for e in (event(m) for m in messages) if e is not None]
        except Err:
            raise
        except (ValueError, KeyError, TypeError) as e:
            raise Err(PluginError_Malformed(f"not a Douyin push: {e!r}"))
        return Parsed(events=events, reply=REPLY)

    def poll(self, cursor) -> PollResult:
        return PollResult(events=[], next_cursor=None, receipt=None)

    def confirm(self, receipt: str) -> None:
        return None
