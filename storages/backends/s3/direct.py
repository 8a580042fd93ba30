"""S3 and S3-compatible storages: presigned POST, or presigned PUT when overwrite is off.

A POST policy lets S3 enforce the size (``content-length-range``), the exact
key and the content type, but it cannot say "only if absent". So a storage
with overwrite off gets a presigned PUT instead, signed with
``If-None-Match: *`` (S3 answers 412 when the key exists) and the exact
``Content-Length`` the browser declared.
"""

from __future__ import annotations

from typing import Any

from storages.direct import TicketRequest, UploadTicket, expiry
from storages.direct.cors import rule_problems

# PutObject parameters a browser upload can carry, and the header (PUT) or
# form field (POST) S3 reads them from. Others in object_parameters are not
# sent: a presigned request cannot carry them safely.
_HEADERS = {
    "ACL": ("x-amz-acl", "acl"),
    "CacheControl": ("Cache-Control", "Cache-Control"),
    "ContentDisposition": ("Content-Disposition", "Content-Disposition"),
    "ContentEncoding": ("Content-Encoding", "Content-Encoding"),
    "ContentLanguage": ("Content-Language", "Content-Language"),
    "ServerSideEncryption": ("x-amz-server-side-encryption", "x-amz-server-side-encryption"),
    "SSEKMSKeyId": (
        "x-amz-server-side-encryption-aws-kms-key-id",
        "x-amz-server-side-encryption-aws-kms-key-id",
    ),
    "StorageClass": ("x-amz-storage-class", "x-amz-storage-class"),
}


def _params(storage: Any, name: str) -> dict[str, Any]:
    params = {
        k: v
        for k, v in storage.get_object_parameters(name).items()
        if k in _HEADERS or k == "Metadata"
    }
    if getattr(storage, "default_acl", None) and "ACL" not in params:
        params["ACL"] = storage.default_acl
    return params


def _as_headers(params: dict[str, Any], form: bool) -> dict[str, str]:
    out = {_HEADERS[k][form]: str(v) for k, v in params.items() if k in _HEADERS}
    out.update({f"x-amz-meta-{k}": str(v) for k, v in (params.get("Metadata") or {}).items()})
    return out


def _client(storage: Any) -> Any:
    # Links must use the endpoint the browser reaches (AWS_S3_PUBLIC_ENDPOINT_URL): the
    # same client the storage's own url() signs with.
    return storage._url_client()


def ticket(storage: Any, request: TicketRequest) -> UploadTicket:
    key = storage._key(request.name)
    params = _params(storage, request.name)
    if request.content_type:
        params["ContentType"] = request.content_type
    if request.create_only:
        if request.size is None:
            raise ValueError("S3 create-only uploads need the declared size (size=)")
        url = _client(storage).generate_presigned_url(
            "put_object",
            HttpMethod="PUT",
            ExpiresIn=request.expires_in,
            Params={
                "Bucket": storage.bucket_name,
                "Key": key,
                "IfNoneMatch": "*",
                "ContentLength": request.size,
                **params,
            },
        )
        headers = _as_headers(params, form=False)
        headers["If-None-Match"] = "*"
        if request.content_type:
            headers["Content-Type"] = request.content_type
        return UploadTicket(
            request.name,
            "PUT",
            url,
            expiry(request),
            headers=headers,
            enforced=("size", "type", "create_only"),
        )
    fields = _as_headers(params, form=True)
    if request.content_type:
        fields["Content-Type"] = request.content_type
    conditions: list[Any] = [{k: v} for k, v in fields.items()]
    conditions.append(["content-length-range", 0, request.max_size])
    post = _client(storage).generate_presigned_post(
        storage.bucket_name,
        key,
        Fields=dict(fields),
        Conditions=conditions,
        ExpiresIn=request.expires_in,
    )
    return UploadTicket(
        request.name,
        "POST",
        post["url"],
        expiry(request),
        fields=post["fields"],
        file_field="file",
        enforced=("size", "type"),
    )


def cors_problems(storage: Any, origin: str) -> list[str]:
    """The bucket's CORS rules against what a browser on ``origin`` sends."""
    from botocore.exceptions import ClientError

    try:
        reply = storage.client.get_bucket_cors(Bucket=storage.bucket_name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchCORSConfiguration":
            raise
        reply = {}
    rules = [
        (r.get("AllowedOrigins", []), r.get("AllowedMethods", []), r.get("AllowedHeaders", []))
        for r in reply.get("CORSRules", [])
    ]
    if storage.overwrite:
        method, headers = "POST", []
    else:
        method, headers = "PUT", ["content-type", "if-none-match"]
    return rule_problems(origin, method, headers, rules, f"S3 bucket {storage.bucket_name!r}")
