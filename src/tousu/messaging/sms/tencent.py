"""腾讯云短信 (SMS API 2021-01-11, SendSms) through Tencent Cloud's own SDK, which signs each
request (TC3-HMAC-SHA256). Configured by environment:

TOUSU_SMS_TENCENT_SECRET_ID, TOUSU_SMS_TENCENT_SECRET_KEY   the API key (访问密钥)
TOUSU_SMS_TENCENT_SDK_APP_ID      the SMS application's SdkAppId, e.g. 1400006666
TOUSU_SMS_TENCENT_SIGN_NAME       the approved signature (短信签名)
TOUSU_SMS_TENCENT_REGION          default ap-guangzhou
TOUSU_SMS_TENCENT_ENDPOINT        default sms.tencentcloudapi.com
TOUSU_SMS_TENCENT_PROTOCOL        https (default) or http
TOUSU_SMS_TIMEOUT                 seconds, default 10
"""

from __future__ import annotations

from . import SendError, Sms, env

TRANSIENT_PREFIXES = (
    "LimitExceeded",
    "InternalError",
    "RequestLimitExceeded",
    "ClientNetworkError",
)


def _transient(code: str) -> bool:
    return code.startswith(TRANSIENT_PREFIXES)


class TencentBackend:
    name = "tencent"

    def __init__(
        self, secret_id, secret_key, app_id, sign_name, region, endpoint, protocol, timeout
    ):
        missing = [
            n
            for n, v in (
                ("TOUSU_SMS_TENCENT_SECRET_ID", secret_id),
                ("TOUSU_SMS_TENCENT_SECRET_KEY", secret_key),
                ("TOUSU_SMS_TENCENT_SDK_APP_ID", app_id),
                ("TOUSU_SMS_TENCENT_SIGN_NAME", sign_name),
            )
            if not v
        ]
        if missing:
            raise SendError(f"腾讯云短信未配置：缺少环境变量 {'、'.join(missing)}", permanent=True)
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.sms.v20210111 import sms_client

        http = HttpProfile(protocol=protocol, endpoint=endpoint, reqTimeout=int(timeout))
        self.client = sms_client.SmsClient(
            credential.Credential(secret_id, secret_key), region, ClientProfile(httpProfile=http)
        )
        self.app_id, self.sign_name = app_id, sign_name

    @classmethod
    def from_env(cls) -> TencentBackend:
        return cls(
            env("TOUSU_SMS_TENCENT_SECRET_ID"),
            env("TOUSU_SMS_TENCENT_SECRET_KEY"),
            env("TOUSU_SMS_TENCENT_SDK_APP_ID"),
            env("TOUSU_SMS_TENCENT_SIGN_NAME"),
            env("TOUSU_SMS_TENCENT_REGION", "ap-guangzhou"),
            env("TOUSU_SMS_TENCENT_ENDPOINT", "sms.tencentcloudapi.com"),
            env("TOUSU_SMS_TENCENT_PROTOCOL", "https"),
            float(env("TOUSU_SMS_TIMEOUT", "10")),
        )

    def send(self, sms: Sms, message_id: int) -> str:
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
            TencentCloudSDKException,
        )
        from tencentcloud.sms.v20210111 import models

        if not sms.template:
            raise SendError(
                "该消息模板未填写腾讯云短信模板 ID（系统管理 → 投诉人消息模板）", permanent=True
            )
        request = models.SendSmsRequest()
        request.PhoneNumberSet = [f"+86{sms.phone}"]
        request.SmsSdkAppId = self.app_id
        request.SignName = self.sign_name
        request.TemplateId = sms.template
        request.TemplateParamSet = [value for _, value in sms.params]
        request.SessionContext = str(message_id)
        try:
            response = self.client.SendSms(request)
        except TencentCloudSDKException as exc:
            code = exc.get_code() or "ClientError"
            raise SendError(
                f"腾讯云短信：{code} {exc.get_message()}", permanent=not _transient(code)
            ) from exc
        except Exception as exc:  # the HTTP client's own errors: the network, a timeout
            raise SendError(f"腾讯云短信：{type(exc).__name__} {exc}") from exc
        status = (response.SendStatusSet or [None])[0]
        if status is None:
            raise SendError("腾讯云短信：答复中没有发送状态")
        if status.Code != "Ok":
            raise SendError(
                f"腾讯云短信：{status.Code} {status.Message}", permanent=not _transient(status.Code)
            )
        return status.SerialNo or ""
