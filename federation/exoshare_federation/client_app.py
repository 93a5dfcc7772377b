"""The Flower ClientApp a clinic runs: it trains on its own arrays and answers with parameters
and metrics only (no rows, no identifiers)."""

from __future__ import annotations

from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from exoshare_federation import data, model

app = ClientApp()


def _training(message: Message) -> model.Training:
    config = message.content["config"]
    return model.Training(
        steps=int(config["local-steps"]),
        learning_rate=float(config["learning-rate"]),
        l2=float(config["l2"]),
        proximal_mu=float(config["proximal-mu"]),
    )


@app.train()
def train(message: Message, context: Context) -> Message:
    partition_id, path = data.node_partition(context.node_config)
    part = data.load(path)
    start = message.content["arrays"].to_numpy_ndarrays()
    loss_before = model.mse(start, part.x_train, part.y_train)
    params = model.train(start, part.x_train, part.y_train, _training(message))
    metrics = MetricRecord(
        {
            "num-examples": len(part.y_train),
            # Under differential privacy every clinic weighs the same (Flower's accounted
            # aggregation needs equal weights: the noise is calibrated to one clinic's bound).
            "clinic-weight": 1,
            "partition-id": partition_id,
            "train-loss": loss_before,
            "train-mae": model.mae(params, part.x_train, part.y_train),
        }
    )
    content = RecordDict({"arrays": ArrayRecord(numpy_ndarrays=params), "metrics": metrics})
    return Message(content=content, reply_to=message)


@app.evaluate()
def evaluate(message: Message, context: Context) -> Message:
    partition_id, path = data.node_partition(context.node_config)
    part = data.load(path)
    params = message.content["arrays"].to_numpy_ndarrays()
    metrics = MetricRecord(
        {
            "num-examples": len(part.y_test),
            "clinic-weight": 1,
            "partition-id": partition_id,
            "test-mae": model.mae(params, part.x_test, part.y_test),
            "test-mse": model.mse(params, part.x_test, part.y_test),
        }
    )
    return Message(content=RecordDict({"metrics": metrics}), reply_to=message)
