"""QR codes as data: URIs, for the portal's poster and the documents (nothing fetched, nothing stored)."""

import base64
import io


def qr_data_uri(text: str) -> str:
    import qrcode

    image = qrcode.make(text, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
