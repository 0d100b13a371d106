"""Serve moto's DynamoDB and DynamoDB Streams on one loopback port, single-threaded.

moto's server is not thread-safe: concurrent requests can lose writes and
duplicate stream sequence numbers, so requests are served one at a time.
Usage: python3 moto_server.py HOST PORT (PORT 0 picks a free port). Once it
listens, it prints "listening PORT" on standard output.

moto 5.2.1 (the version pinned in moto.go) keeps everything it ever creates,
which kills a local stack within a few hundred audited writes. This launcher
patches four behaviours before it serves, and refuses to start when a patched
function is not the one it was written against (after a moto upgrade: read the
new source, adapt the patch, then update PATCHED_SOURCES):

1. BaseModel.__new__ appends every model instance ever created to its class's
   `instances_tracked` list (for moto's dashboard), deep copies included, so
   nothing is ever freed. Instances are no longer tracked.
2. DynamoDBBackend.transact_write_items deep-copies every table a transaction
   touches, its whole stream shard included, as a rollback copy: its cost and
   memory grow with the table. It now records only the items the transaction
   touches and each stream's length, and restores those on cancellation; the
   tables and their stream shards stay the same objects, so a shard iterator
   taken before a cancelled transaction sees neither phantom records nor a
   stale shard.
3. StreamShard keeps every stream record forever. It now keeps 24 hours of
   them, as DynamoDB Streams does (MOTO_STREAM_RETENTION_SECONDS overrides it,
   for tests); reading a trimmed position is TrimmedDataAccessException.
4. DynamoDBStreamsBackend keeps every shard iterator ever handed out (two per
   poll). Iterators now expire after 15 minutes, as DynamoDB's do
   (MOTO_SHARD_ITERATOR_LIFETIME_SECONDS overrides it, for tests); using an
   expired one is ExpiredIteratorException.
5. GetRecords answers go through moto's model-driven serializer, about 2 ms
   per record of a few KB: a poll of 100 records held the single-threaded
   server for a quarter of a second. They are now written with
   json.dumps, as moto wrote every answer before 5.1.
6. Every update expression is parsed twice per request (the audit function's
   append updates 64 counters in one transaction). Parsed expressions are
   now cached by their text; the validator deep-copies the tree before it
   changes it, so a cached tree is never modified.
"""
import copy
import datetime
import functools
import hashlib
import inspect
import os
import sys
import time
from typing import Any

import moto
from moto.core.common_models import BaseModel
from moto.core.exceptions import JsonRESTError
from moto.core.utils import utcnow
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import StreamShard
from moto.dynamodb.models.utilities import dynamo_json_dump
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.dynamodb.parsing.validators import Validator
from moto.dynamodbstreams.models import DynamoDBStreamsBackend, ShardIterator
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, make_server

MOTO_VERSION = "5.2.1"

# SHA-256 of the source of each function this launcher replaces, wraps or
# relies on (ShardIterator.get files new iterators in the backend), as moto
# 5.2.1 ships it.
PATCHED_SOURCES = {
    "BaseModel.__new__": (
        BaseModel.__new__,
        "08cf0ef20e88029a2eb91949492ce3281001a34b98143db186239962ad379eec",
    ),
    "DynamoDBBackend.transact_write_items": (
        DynamoDBBackend.transact_write_items,
        "81db2cb7d94e39c90b3a2077e1f4bb41a449c558ef9b1b1e2910fdaa39978ad4",
    ),
    "StreamShard.add": (
        StreamShard.add,
        "357dc6da267e5dd7d46e18ee25d14b232a98679677906a2f02e4d454d1f11e03",
    ),
    "StreamShard.get": (
        StreamShard.get,
        "fa7e9a0d7b438c2fbd4bcc8a04fecc79f70862760d1f176d3bc86775967e2d7e",
    ),
    "ShardIterator.__init__": (
        ShardIterator.__init__,
        "5842e50a95242ef84673613918b71c4a2a9c149d4baa10904b0c84034c4c793e",
    ),
    "ShardIterator.get": (
        ShardIterator.get,
        "8932c0f7250e89963eef1e848bdd205a05c0f6ed94f526ed36ca9b7339442ace",
    ),
    "DynamoDBStreamsBackend.get_shard_iterator": (
        DynamoDBStreamsBackend.get_shard_iterator,
        "a0be676df0bfc9ef0fdb546a45df0f1510de564d215dcafffbd144a8f04219ef",
    ),
    "DynamoDBStreamsBackend.get_records": (
        DynamoDBStreamsBackend.get_records,
        "db8c6cb04430c08f76be9e6b3cc9317387643b4fee26f43071c5ac22e25d2b64",
    ),
    "UpdateExpressionParser.make": (
        UpdateExpressionParser.make,
        "2c00ed96d6e191f243b449166e75bfb38f307b2e19405bc0981847061e0dbee3",
    ),
    "Validator.__init__": (
        Validator.__init__,
        "9489b532dd0fb359e273711c1a67971f1b73af47ddbaa91868e9cc42a26ddbb3",
    ),
    "DynamoDBStreamsHandler.get_records": (
        DynamoDBStreamsHandler.get_records,
        "eca5821a96bdd10d8ae32ccc432f7c7df424a484f388ab2a8ecb2e8c9a2026ce",
    ),
}

STREAM_RETENTION = datetime.timedelta(seconds=int(os.environ.get("MOTO_STREAM_RETENTION_SECONDS", "86400")))
ITERATOR_LIFETIME_SECONDS = int(os.environ.get("MOTO_SHARD_ITERATOR_LIFETIME_SECONDS", str(15 * 60)))


def check_patched_sources() -> None:
    """Exit when moto is not the version whose functions the patches replace."""
    problems = []
    if moto.__version__ != MOTO_VERSION:
        problems.append(f"moto {moto.__version__} is installed; this launcher patches moto {MOTO_VERSION}")
    for name, (function, expected) in PATCHED_SOURCES.items():
        actual = hashlib.sha256(inspect.getsource(function).encode()).hexdigest()
        if actual != expected:
            problems.append(f"{name} has changed (source sha256 {actual})")
    if problems:
        for problem in problems:
            print(f"moto_server.py: {problem}", file=sys.stderr)
        print("moto_server.py: review the patches in moto_server.py against this moto before using it", file=sys.stderr)
        sys.exit(3)


# 1. No instance tracking.
def untracked_new(cls: type, *args: Any, **kwargs: Any) -> Any:
    return object.__new__(cls)


# 2. Item-level rollback of cancelled transactions.
class TransactionUndo:
    """What a transaction changed: each touched item as it was, and the length of each stream."""

    def __init__(self, backend: DynamoDBBackend, table_names: list[str]):
        self.backend = backend
        self.items: list[tuple[Any, Any, Any, Any]] = []
        # The next sequence number of each touched table's stream: robust to
        # trimming, which moves the shard's first sequence number.
        self.streams = []
        for name in dict.fromkeys(table_names):
            table = backend.tables.get(name)
            if table is not None and table.stream_shard is not None:
                shard = table.stream_shard
                self.streams.append((shard, shard.starting_sequence_number + len(shard.items)))

    def remember(self, table_name: str, key: dict[str, Any], current: Any) -> None:
        table = self.backend.get_table(table_name)
        hash_value, range_value = self.backend.get_keys_value(table, key)
        self.items.append((table, hash_value, range_value, copy.deepcopy(current)))

    def restore(self) -> None:
        for table, hash_value, range_value, previous in reversed(self.items):
            if range_value is not None:
                ranges = table.items[hash_value]
                if previous is None:
                    ranges.pop(range_value, None)
                    if not ranges:
                        del table.items[hash_value]
                else:
                    ranges[range_value] = previous
            elif previous is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = previous
        for shard, next_sequence_number in self.streams:
            del shard.items[next_sequence_number - shard.starting_sequence_number:]


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto 5.2.1's transact_write_items, with TransactionUndo instead of table copies."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo = TransactionUndo(self, [next(iter(item.values())).get("TableName") for item in transact_items])

    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[Any] = []  # [(Code, Message, Item), ..]
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException

        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")

            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            expression_attribute_names = op.get("ExpressionAttributeNames")
            expression_attribute_values = op.get("ExpressionAttributeValues")
            return_values_on_condition_check_failure = op.get("ReturnValuesOnConditionCheckFailure")

            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]

            check_unicity(table_name, key)

            current = self.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = get_filter_expression(
                    condition_expression,
                    expression_attribute_names,
                    expression_attribute_values,
                )
                if not condition_op.expr(current):
                    if return_values_on_condition_check_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)

            if op_type != "ConditionCheck":
                undo.remember(table_name, key, current)
            if op_type == "Put":
                self.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            undo.restore()
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))
        except Exception as e:  # noqa: E722 as moto does: every failure cancels
            errors.append((type(e).__name__, str(e), original_item))

    if any(code is not None for code, _, _ in errors):
        undo.restore()
        raise TransactionCanceledException(errors)


# 3. Stream records kept 24 hours.
class TrimmedDataAccessException(JsonRESTError):
    def __init__(self) -> None:
        super().__init__("TrimmedDataAccessException", "The operation attempted to read past the oldest stream record in a shard.")


original_stream_add = StreamShard.add


def stream_add(self: StreamShard, old: Any, new: Any) -> None:
    original_stream_add(self, old, new)
    trim_stream(self)


def trim_stream(shard: StreamShard) -> None:
    """Drop records older than STREAM_RETENTION; sequence numbers stay as they were."""
    records = shard.items
    cutoff = utcnow() - STREAM_RETENTION
    if not records or records[0].record["dynamodb"]["ApproximateCreationDateTime"] >= cutoff:
        return
    expired = 0
    while expired < len(records) and records[expired].record["dynamodb"]["ApproximateCreationDateTime"] < cutoff:
        expired += 1
    del records[:expired]
    shard.starting_sequence_number += expired


def stream_get(self: StreamShard, start: int, quantity: int) -> list[dict[str, Any]]:
    start -= self.starting_sequence_number
    if start < 0:
        raise TrimmedDataAccessException()
    return [record.to_json() for record in self.items[start : start + quantity]]


# 4. Shard iterators expire after 15 minutes.
class ExpiredIteratorException(JsonRESTError):
    def __init__(self) -> None:
        super().__init__("ExpiredIteratorException", "Iterator expired. The iterator was created over 15 minutes ago.")


original_iterator_init = ShardIterator.__init__


def iterator_init(self: ShardIterator, *args: Any, **kwargs: Any) -> None:
    original_iterator_init(self, *args, **kwargs)
    self.created = time.monotonic()


def drop_expired_iterators(backend: DynamoDBStreamsBackend) -> None:
    """Iterators are kept in the order they were made; drop the expired ones from the front."""
    iterators = backend.shard_iterators
    cutoff = time.monotonic() - ITERATOR_LIFETIME_SECONDS
    while iterators:
        arn = next(iter(iterators))
        if iterators[arn].created >= cutoff:
            return
        del iterators[arn]


original_get_shard_iterator = DynamoDBStreamsBackend.get_shard_iterator


def get_shard_iterator(self: DynamoDBStreamsBackend, *args: Any, **kwargs: Any) -> ShardIterator:
    drop_expired_iterators(self)
    return original_get_shard_iterator(self, *args, **kwargs)


def get_records(self: DynamoDBStreamsBackend, iterator_arn: str, limit: int) -> dict[str, Any]:
    drop_expired_iterators(self)
    iterator = self.shard_iterators.get(iterator_arn)
    if iterator is None:
        raise ExpiredIteratorException()
    return iterator.get(limit)


# 5. GetRecords answers written with json.dumps.
def get_records_answer(self: DynamoDBStreamsHandler) -> tuple[int, dict[str, str], str]:
    limit = self._get_param("Limit")
    result = self.backend.get_records(self._get_param("ShardIterator"), 1000 if limit is None else limit)
    # Images are DynamoDB JSON already; times become epoch seconds, binary values base64.
    return 200, {"Content-Type": "application/x-amz-json-1.0"}, dynamo_json_dump(result)


# 6. Parsed update expressions cached.
parse_update_expression = functools.lru_cache(maxsize=4096)(UpdateExpressionParser.make)


def patch_moto() -> None:
    check_patched_sources()
    BaseModel.__new__ = staticmethod(untracked_new)
    for cls in BaseModel.__subclasses__():
        forget_instances(cls)
    DynamoDBBackend.transact_write_items = transact_write_items
    StreamShard.add = stream_add
    StreamShard.get = stream_get
    ShardIterator.__init__ = iterator_init
    DynamoDBStreamsBackend.get_shard_iterator = get_shard_iterator
    DynamoDBStreamsBackend.get_records = get_records
    DynamoDBStreamsHandler.get_records = get_records_answer
    UpdateExpressionParser.make = staticmethod(parse_update_expression)


def forget_instances(cls: type) -> None:
    """Empty the lists of instances created before the patch (at import)."""
    if "instances_tracked" in cls.__dict__:
        cls.instances_tracked.clear()
    for sub in cls.__subclasses__():
        forget_instances(sub)


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def main() -> None:
    patch_moto()
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(host, port, app, threaded=False, processes=1, request_handler=QuietHandler)
    print(f"listening {server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
