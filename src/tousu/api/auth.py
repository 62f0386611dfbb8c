from ninja.security import HttpBearer

from tousu.accounts.selectors import user_for_token


class TokenAuth(HttpBearer):
    """`Authorization: Bearer tsu_…`; the token's user acts with their own roles and department."""

    def authenticate(self, request, token: str):
        found = user_for_token(token)
        if found is None:
            return None
        request.user, request.api_token = found
        return request.user
