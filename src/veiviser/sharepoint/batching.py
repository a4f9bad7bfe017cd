"""Running operations in ``$batch`` requests: chunks, per-part retries, one result per operation.

:class:`BatchRunner` is what :meth:`SiteClient.batch <veiviser.sharepoint.client.SiteClient.batch>`
does once the wire format (:mod:`veiviser.sharepoint.batch`) and the HTTP pipeline are given: it
splits operations by count and size, posts each chunk, reads every part's status and re-sends the
transient ones (``docs/sharepoint.md``, "$batch" and "Throttling") after the largest server delay.
The envelope itself is retried by the transport; a part is retried here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from veiviser.sharepoint.batch import Operation, OperationResult, RawPart, next_link, part_size, unwrap
from veiviser.sharepoint.errors import (
    HR_DIGEST_EXPIRED,
    SharePointError,
    ThrottledError,
    ValidationError,
    classify,
)
from veiviser.sharepoint.transport import RateLimiter, RetryPolicy, retry_delay

log = logging.getLogger("veiviser.sharepoint")


@dataclass
class BatchRunner:
    """One site's ``$batch`` execution: ``post`` sends one envelope and returns its parts."""

    site: str
    service_root: str
    post: Callable[[list[Operation]], list[RawPart]]
    invalidate_digest: Callable[[], None]
    policy: RetryPolicy
    limiter: RateLimiter | None
    sleep: Callable[[float], None]

    def _chunks(
        self, pending: list[tuple[int, Operation]], max_ops: int, max_bytes: int
    ) -> Iterator[list[tuple[int, Operation]]]:
        chunk: list[tuple[int, Operation]] = []
        size = 200
        for index, op in pending:
            n = part_size(op, self.service_root)
            if chunk and (len(chunk) >= max_ops or size + n > max_bytes):
                yield chunk
                chunk, size = [], 200
            chunk.append((index, op))
            size += n
        if chunk:
            yield chunk

    def run(self, operations: Iterable[Operation], *, max_ops: int, max_bytes: int) -> list[OperationResult]:
        """Run operations in ``$batch`` requests; one :class:`OperationResult` per operation, same order.

        Split by ``max_ops`` and ``max_bytes``. Transient sub-responses (408/429/5xx; 500/502/504 only
        for operations safe to re-send) are re-sent after the largest ``Retry-After``, within the
        retry caps; permanent failures are reported per row and do not stop the others.
        """
        ops = list(operations)
        if not 1 <= max_ops <= 100:
            raise ValueError("max_ops must be between 1 and 100 (SharePoint's practical cap)")
        results: list[OperationResult | None] = [None] * len(ops)
        attempts = [0] * len(ops)
        policy = self.policy
        waited = 0.0
        pending: list[tuple[int, Operation]] = []
        for index, op in enumerate(ops):
            if part_size(op, self.service_root) > max_bytes:
                results[index] = self._failed(
                    op,
                    index,
                    0,
                    ValidationError(
                        f"operation body is larger than the {max_bytes}-byte batch limit",
                        hint="Shorten the text fields or write this item on its own.",
                    ),
                )
            else:
                pending.append((index, op))
        while pending:
            again: list[tuple[int, Operation]] = []
            delay = 0.0
            for number, chunk in enumerate(self._chunks(pending, max_ops, max_bytes)):
                for index, _ in chunk:
                    attempts[index] += 1
                try:
                    parts = self.post([op for _, op in chunk])
                except SharePointError as exc:
                    # The whole envelope failed: report it on this chunk and every chunk not yet sent.
                    rest = [
                        pair
                        for later in list(self._chunks(pending, max_ops, max_bytes))[number + 1 :]
                        for pair in later
                    ]
                    for index, op in chunk + rest:
                        results[index] = self._failed(
                            op, index, attempts[index], _copy_error(exc, op, self.site)
                        )
                    again = []
                    break
                if len(parts) != len(chunk):
                    for index, op in chunk:
                        results[index] = self._failed(
                            op,
                            index,
                            attempts[index],
                            SharePointError(
                                f"$batch answered {len(parts)} parts for {len(chunk)} operations; outcome unknown",
                                site=self.site,
                                list=op.list,
                                item=op.item,
                            ),
                        )
                    continue
                for (index, op), part in zip(chunk, parts, strict=True):
                    outcome = self._outcome(op, index, part, attempts[index])
                    retryable = self._retryable(op, part) and attempts[index] < policy.max_attempts
                    if retryable:
                        part_delay = retry_delay(part.headers)
                        if part_delay is None:
                            part_delay = 0.0 if _is_digest_expiry(part) else policy.backoff(attempts[index])
                        if part.status in (429, 503) and self.limiter is not None and part_delay > 0:
                            # every worker waits, as for a top-level 429 (which also cuts the pace)
                            self.limiter.throttled_for(part_delay, status=part.status)
                        delay = max(delay, part_delay)
                        again.append((index, op))
                        if _is_digest_expiry(part):
                            self.invalidate_digest()
                    results[index] = outcome
            if not again:
                break
            if waited + delay > policy.max_total_seconds:
                for index, op in again:
                    prev = results[index]
                    results[index] = self._failed(
                        op,
                        index,
                        attempts[index],
                        ThrottledError(
                            f"still failing (HTTP {prev.status if prev else '?'}) after {attempts[index]} attempts; "
                            f"waiting {delay:.0f} s more would exceed the {policy.max_total_seconds:.0f} s cap",
                            site=self.site,
                            list=op.list,
                            item=op.item,
                            status=prev.status if prev else None,
                        ),
                    )
                break
            log.info("re-sending %d operations in %.1f s", len(again), delay)
            if delay > 0:
                self.sleep(delay)
            waited += delay
            pending = sorted(again, key=lambda pair: pair[0])
        return [r for r in results if r is not None]

    def _retryable(self, op: Operation, part: RawPart) -> bool:
        if _is_digest_expiry(part):
            return True
        if part.status in (429, 503):
            return True
        return part.status in (408, 500, 502, 504) and op.safe_to_resend

    def _failed(self, op: Operation, index: int, attempts: int, error: SharePointError) -> OperationResult:
        return OperationResult(
            key=op.key if op.key is not None else index,
            status=error.status or 0,
            error=error,
            attempts=attempts,
        )

    def _outcome(self, op: Operation, index: int, part: RawPart, attempts: int) -> OperationResult:
        key = op.key if op.key is not None else index
        try:
            payload = (
                part.json()
                if part.headers.get("content-type", "").lower().startswith("application/json")
                else part.body or None
            )
        except ValueError:
            payload = part.body
        if 200 <= part.status < 300:
            return OperationResult(
                key, part.status, unwrap(payload, op.path), None, attempts, part.headers, next_link(payload)
            )
        code, message = _error_of(payload)
        error = classify(
            part.status, code, message or f"HTTP {part.status}", site=self.site, list=op.list, item=op.item
        )
        if part.status in (500, 502, 504) and not op.safe_to_resend:
            error.hint = "The server failed while creating; it may have been applied. Look the row up by its key before retrying."
        return OperationResult(key, part.status, None, error, attempts, part.headers)


def _is_digest_expiry(part: RawPart) -> bool:
    if part.status != 403:
        return False
    return HR_DIGEST_EXPIRED.encode() in part.body


def _error_of(payload: Any) -> tuple[str | None, str]:
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        err = payload["error"]
        msg = err.get("message")
        if isinstance(msg, dict):
            msg = msg.get("value")
        return err.get("code"), str(msg or "")
    if isinstance(payload, bytes | bytearray):
        return None, payload.decode("utf-8", "replace")[:300]
    return None, ""


def _copy_error(exc: SharePointError, op: Operation, site: str) -> SharePointError:
    error = type(exc)(
        exc.detail,
        site=site,
        list=op.list,
        item=op.item,
        field=exc.field,
        status=exc.status,
        code=exc.code,
        hint=exc.hint,
    )
    return error
