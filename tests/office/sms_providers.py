"""Local stand-ins for the SMS providers' HTTP APIs, as their documentation describes them, request
signing included. Each keeps the requests it accepted and answers like the provider:

- 阿里云短信 SendSms (Dysmsapi 2017-05-25), V3 signature ACS3-HMAC-SHA256
  (help.aliyun.com "V3版本请求体&签名机制": CanonicalRequest = method, CanonicalURI ("/" for RPC),
  CanonicalQueryString (RFC 3986, sorted), CanonicalHeaders (host, x-acs-*, content-type; lower
  case, sorted), SignedHeaders, HashedRequestPayload; StringToSign = algorithm + "\\n" +
  hex(sha256(CanonicalRequest)); Signature = hex(HMAC-SHA256(secret, StringToSign)));
- 腾讯云短信 SendSms (API 2021-01-11), signature TC3-HMAC-SHA256 (cloud.tencent.com "签名方法 v3":
  CanonicalRequest with content-type;host, CredentialScope date/service/tc3_request, the key
  derived as HMAC chain "TC3"+SecretKey → date → service → "tc3_request").
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.parse
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


class _Server:
    content_type = "application/json;charset=utf-8"

    def __init__(self):
        self.accepted: list[dict] = []
        self.rejected: list[str] = []
        self.answer_code = (
            None  # a provider error to answer with, e.g. "isv.BUSINESS_LIMIT_CONTROL"
        )
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                path, _, query = self.path.partition("?")
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload = outer.handle(path, query, headers, body)
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", outer.content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class FakeAliyun(_Server):
    def __init__(self, key_id: str, secret: str):
        super().__init__()
        self.key_id, self.secret = key_id, secret

    def _error(self, status, code, message):
        self.rejected.append(code)
        return status, {"Code": code, "Message": message, "RequestId": str(uuid.uuid4())}

    def handle(self, path, query, headers, body):
        auth = headers.get("authorization", "")
        algorithm, _, rest = auth.partition(" ")
        if algorithm != "ACS3-HMAC-SHA256":
            return self._error(
                400,
                "IncompleteSignature",
                "The request signature does not conform to Aliyun standards.",
            )
        parts = dict(p.strip().split("=", 1) for p in rest.split(",") if "=" in p)
        if parts.get("Credential") != self.key_id:
            return self._error(
                404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
            )
        signed = parts.get("SignedHeaders", "").split(";")
        required = {"host"} | {h for h in headers if h.startswith("x-acs-")}
        if signed != sorted(signed) or not required <= set(signed):
            return self._error(
                400,
                "IncompleteSignature",
                "SignedHeaders must list host and every x-acs- header, sorted.",
            )
        hashed = _sha256(body)
        if headers.get("x-acs-content-sha256") != hashed:
            return self._error(
                400, "SignatureDoesNotMatch", "x-acs-content-sha256 does not match the body."
            )
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)

        def enc(s):
            return urllib.parse.quote(s, safe="-_.~")

        canonical_query = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(pairs))
        canonical_headers = "".join(f"{h}:{headers.get(h, '').strip()}\n" for h in signed)
        canonical = "\n".join(
            ["POST", path or "/", canonical_query, canonical_headers, ";".join(signed), hashed]
        )
        to_sign = f"ACS3-HMAC-SHA256\n{_sha256(canonical.encode())}"
        expected = hmac.new(self.secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, parts.get("Signature", "")):
            return self._error(
                400,
                "SignatureDoesNotMatch",
                "Specified signature is not matched with our calculation.",
            )
        if (headers.get("x-acs-action"), headers.get("x-acs-version")) != ("SendSms", "2017-05-25"):
            return self._error(400, "InvalidAction.NotFound", "Specified api is not found.")
        stamp = datetime.strptime(headers.get("x-acs-date", ""), "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=UTC
        )
        if abs((datetime.now(UTC) - stamp).total_seconds()) > 15 * 60:
            return self._error(
                400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."
            )
        params = dict(pairs)
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not params.get(name):
                return self._error(400, "MissingParameter", f"{name} is mandatory for this action.")
        if self.answer_code:
            self.rejected.append(self.answer_code)
            return 200, {
                "Code": self.answer_code,
                "Message": "触发分钟级流控Permits:1",
                "RequestId": str(uuid.uuid4()),
            }
        if not params["PhoneNumbers"].isdigit() or len(params["PhoneNumbers"]) != 11:
            return 200, {
                "Code": "isv.MOBILE_NUMBER_ILLEGAL",
                "Message": "非法手机号",
                "RequestId": "x",
            }
        params["TemplateParam"] = json.loads(params.get("TemplateParam") or "{}")
        self.accepted.append(params)
        biz = f"{int(time.time() * 1000)}^0"
        return 200, {"Code": "OK", "Message": "OK", "BizId": biz, "RequestId": str(uuid.uuid4())}


class FakeTencent(_Server):
    content_type = "application/json"  # as the API answers (the SDK reads errors only then)

    def __init__(self, secret_id: str, secret_key: str, app_id: str):
        super().__init__()
        self.secret_id, self.secret_key, self.app_id = secret_id, secret_key, app_id

    def _error(self, code, message):
        self.rejected.append(code)
        return 200, {
            "Response": {
                "Error": {"Code": code, "Message": message},
                "RequestId": str(uuid.uuid4()),
            }
        }

    def handle(self, path, query, headers, body):
        auth = headers.get("authorization", "")
        algorithm, _, rest = auth.partition(" ")
        parts = dict(p.strip().split("=", 1) for p in rest.split(",") if "=" in p)
        try:
            secret_id, date, service, terminator = parts["Credential"].split("/")
        except (KeyError, ValueError):
            return self._error("AuthFailure.InvalidAuthorization", "Authorization 格式不正确")
        if algorithm != "TC3-HMAC-SHA256" or terminator != "tc3_request" or service != "sms":
            return self._error("AuthFailure.InvalidAuthorization", "Authorization 格式不正确")
        if secret_id != self.secret_id:
            return self._error("AuthFailure.SecretIdNotFound", "密钥不存在")
        timestamp = int(headers.get("x-tc-timestamp", "0"))
        if abs(time.time() - timestamp) > 300:
            return self._error("AuthFailure.SignatureExpire", "签名过期")
        if datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d") != date:
            return self._error("AuthFailure.SignatureFailure", "日期与时间戳不符")
        signed = parts.get("SignedHeaders", "").split(";")
        canonical_headers = "".join(
            f"{h}:{headers.get(h, '').strip().lower() if h == 'content-type' else headers.get(h, '').strip()}\n"
            for h in signed
        )
        canonical = "\n".join(
            ["POST", path or "/", query, canonical_headers, ";".join(signed), _sha256(body)]
        )
        scope = f"{date}/{service}/tc3_request"
        to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{_sha256(canonical.encode())}"
        key = _hmac(_hmac(_hmac(("TC3" + self.secret_key).encode(), date), service), "tc3_request")
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if "host" not in signed or not hmac.compare_digest(expected, parts.get("Signature", "")):
            return self._error(
                "AuthFailure.SignatureFailure", "请求签名验证失败，请检查您的签名计算是否正确"
            )
        if (headers.get("x-tc-action"), headers.get("x-tc-version")) != ("SendSms", "2021-01-11"):
            return self._error("InvalidAction", "接口不存在")
        params = json.loads(body)
        if params.get("SmsSdkAppId") != self.app_id:
            return self._error("FailedOperation.SmsSdkAppIdVerifyFail", "SdkAppId 校验失败")
        for name in ("PhoneNumberSet", "TemplateId", "SignName"):
            if not params.get(name):
                return self._error("MissingParameter", f"缺少参数 {name}")
        if self.answer_code:
            self.rejected.append(self.answer_code)
            status = {
                "Code": self.answer_code,
                "Message": "单个手机号30秒内下发短信条数超过设定的上限",
                "SerialNo": "",
                "PhoneNumber": params["PhoneNumberSet"][0],
                "Fee": 0,
                "SessionContext": "",
                "IsoCode": "CN",
            }
        else:
            self.accepted.append(params)
            status = {
                "SerialNo": f"2645:{uuid.uuid4().hex[:20]}",
                "PhoneNumber": params["PhoneNumberSet"][0],
                "Fee": 1,
                "SessionContext": params.get("SessionContext", ""),
                "Code": "Ok",
                "Message": "send success",
                "IsoCode": "CN",
            }
        return 200, {"Response": {"SendStatusSet": [status], "RequestId": str(uuid.uuid4())}}
