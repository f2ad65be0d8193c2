from __future__ import annotations

from typing import Any

from rest_framework import serializers

from agreements.models import Agreement, TermsVersion
from agreements.services import ImportResult, agreement_export, printable_document


class AgreementSerializer(serializers.ModelSerializer):
    customer: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="key", read_only=True
    )

    class Meta:
        model = Agreement
        fields = [
            "key",
            "name",
            "customer",
            "provider",
            "timezone",
            "effective_from",
            "effective_to",
            "currency",
            "monthly_fee",
        ]


class VersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = TermsVersion
        fields = ["number", "effective_period", "created_at", "note"]


class AgreementDetailSerializer(AgreementSerializer):
    document = serializers.SerializerMethodField()
    versions = VersionSerializer(many=True, read_only=True)

    class Meta(AgreementSerializer.Meta):
        fields = [*AgreementSerializer.Meta.fields, "document", "versions"]

    def get_document(self, agreement: Agreement) -> dict[str, Any]:
        return printable_document(agreement_export(agreement))


class ImportResultSerializer(serializers.Serializer):
    agreement = serializers.CharField(source="agreement.key")
    created = serializers.BooleanField()
    version = serializers.SerializerMethodField()
    message = serializers.SerializerMethodField()

    def get_version(self, result: ImportResult) -> dict[str, Any] | None:
        if result.version is None:
            return None
        return {
            "number": result.version.number,
            "effective_period": result.version.effective_period,
        }

    def get_message(self, result: ImportResult) -> str:
        return result.summary()
