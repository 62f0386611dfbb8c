"""Reads on issued documents."""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from tousu.cases.models import Complaint

from .models import Document


def documents_for(complaint: Complaint) -> list[Document]:
    """Every document of the case, oldest first, each marked `superseded` when corrected."""
    corrected = Document.objects.filter(corrects=OuterRef("pk"))
    return list(
        Document.objects.filter(complaint=complaint)
        .annotate(superseded=Exists(corrected))
        .select_related("corrects")
        .order_by("issued_at", "id")
    )


def public_documents(complaint: Complaint) -> list[Document]:
    """The documents served to the complainant that are still in force."""
    return [d for d in documents_for(complaint) if d.is_public and not d.superseded]
