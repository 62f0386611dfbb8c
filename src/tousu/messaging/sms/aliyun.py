"""阿里云短信 (Dysmsapi 2017-05-25, SendSms) through Alibaba Cloud's own SDK, which signs each
request (ACS3-HMAC-SHA256). Configured by environment:

TOUSU_SMS_ALIYUN_ACCESS_KEY_ID, TOUSU_SMS_ALIYUN_ACCESS_KEY_SECRET   the RAM user's AccessKey
TOUSU_SMS_ALIYUN_SIGN_NAME        the approved signature (短信签名), e.g. 某某医院
TOUSU_SMS_ALIYUN_ENDPOINT         default dysmsapi.aliyuncs.com
TOUSU_SMS_ALIYUN_PROTOCOL         https (default) or http
TOUSU_SMS_TIMEOUT                 seconds, default 10
"""

from __future__ import annotations

import json

from . import SendError, Sms, env

# Codes after which the same request can succeed later (rate control, the provider's own trouble).
TRANSIENT = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",
        "isv.DAY_LIMIT_CONTROL",
        "isv.OUT_OF_SERVICE",
        "isp.SYSTEM_ERROR",
        "isp.RAM_PERMISSION_DENY",
        "Throttling",
        "Throttling.User",
        "ServiceUnavailable",
        "InternalError",
    }
)


class AliyunBackend:
    name = "aliyun"

    def __init__(self, key_id, key_secret, sign_name, endpoint, protocol, timeout):
        missing = [
            n
            for n, v in (
                ("TOUSU_SMS_ALIYUN_ACCESS_KEY_ID", key_id),
                ("TOUSU_SMS_ALIYUN_ACCESS_KEY_SECRET", key_secret),
                ("TOUSU_SMS_ALIYUN_SIGN_NAME", sign_name),
            )
            if not v
        ]
        if missing:
            raise SendError(f"阿里云短信未配置：缺少环境变量 {'、'.join(missing)}", permanent=True)
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi.utils_models import Config

        ms = int(timeout * 1000)
        self.client = Client(
            Config(
                access_key_id=key_id,
                access_key_secret=key_secret,
                endpoint=endpoint,
                protocol=protocol,
                read_timeout=ms,
                connect_timeout=ms,
            )
        )
        self.sign_name = sign_name

    @classmethod
    def from_env(cls) -> AliyunBackend:
        return cls(
            env("TOUSU_SMS_ALIYUN_ACCESS_KEY_ID"),
            env("TOUSU_SMS_ALIYUN_ACCESS_KEY_SECRET"),
            env("TOUSU_SMS_ALIYUN_SIGN_NAME"),
            env("TOUSU_SMS_ALIYUN_ENDPOINT", "dysmsapi.aliyuncs.com"),
            env("TOUSU_SMS_ALIYUN_PROTOCOL", "https"),
            float(env("TOUSU_SMS_TIMEOUT", "10")),
        )

    def send(self, sms: Sms, message_id: int) -> str:
        from alibabacloud_dysmsapi20170525.models import SendSmsRequest
        from darabonba.runtime import RuntimeOptions

        if not sms.template:
            raise SendError(
                "该消息模板未填写阿里云短信模板 CODE（系统管理 → 投诉人消息模板）", permanent=True
            )
        request = SendSmsRequest(
            phone_numbers=sms.phone,
            sign_name=self.sign_name,
            template_code=sms.template,
            template_param=json.dumps(dict(sms.params), ensure_ascii=False),
            out_id=str(message_id),
        )
        try:
            # Retries are the outbox's, with its back-off: the SDK's own are off.
            response = self.client.send_sms_with_options(request, RuntimeOptions(autoretry=False))
        except Exception as exc:  # the SDK raises its own classes and urllib3's
            code = getattr(exc, "code", None) or type(exc).__name__
            message = getattr(exc, "message", None) or str(exc)
            status = getattr(exc, "status_code", None) or getattr(exc, "statusCode", None)
            permanent = bool(status and 400 <= int(status) < 500 and code not in TRANSIENT)
            raise SendError(f"阿里云短信：{code} {message}".strip(), permanent=permanent) from exc
        body = response.body
        if body is None or body.code != "OK":
            code = getattr(body, "code", "") or "无答复"
            raise SendError(
                f"阿里云短信：{code} {getattr(body, 'message', '') or ''}".strip(),
                permanent=code not in TRANSIENT,
            )
        return body.biz_id or ""
