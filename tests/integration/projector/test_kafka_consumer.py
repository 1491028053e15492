"""The aiokafka adapter passes the consumer port's contract (as the in-memory one does),
against the running Kafka: a topic and a dead-letter topic of its own per test."""

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka import KafkaBroker

from projector.adapters.dead_letters import DeadLetterTopic, read_dead_letters
from projector.adapters.kafka_consumer import KafkaConsumer
from projector.application.consumer import Consumer
from tests.support.consumer_contract import PARTITIONS, ConsumerContract
from tests.support.services import Endpoints


@dataclass
class KafkaRig:
    topic: str
    brokers: str
    producer: AIOKafkaProducer
    dead_letter_topic: DeadLetterTopic
    made: list[KafkaConsumer] = field(default_factory=list)

    async def publish(
        self,
        partition: int,
        value: bytes,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        await self.producer.send_and_wait(
            self.topic, value, key=key, partition=partition, headers=list(headers)
        )

    def consumer(self, group_id: str) -> Consumer:
        self.made.append(
            KafkaConsumer(
                self.brokers,
                self.topic,
                group_id,
                client_id="contract",
                dead_letters=self.dead_letter_topic,
            )
        )
        return self.made[-1]

    async def dead_letters(self) -> list[tuple[str, str]]:
        entries = await read_dead_letters(self.brokers, self.dead_letter_topic.topic)
        return [(e.source, e.error) for e in entries]


class TestKafkaConsumer(ConsumerContract):
    @pytest.fixture
    async def rig(self, endpoints: Endpoints, run_id: str) -> AsyncIterator[KafkaRig]:
        brokers = endpoints.kafka_brokers
        topic = f"cqrs-contract-{run_id}-{uuid.uuid4().hex[:6]}"
        topics = [topic, f"{topic}.dlq"]
        admin = AIOKafkaAdminClient(bootstrap_servers=brokers)
        await admin.start()
        await admin.create_topics(
            [NewTopic(t, num_partitions=PARTITIONS, replication_factor=1) for t in topics]
        )
        producer = AIOKafkaProducer(bootstrap_servers=brokers)
        await producer.start()
        broker = KafkaBroker(brokers)
        await broker.connect()
        made = KafkaRig(topic, brokers, producer, DeadLetterTopic(broker, topics[1]))
        try:
            yield made
        finally:
            for consumer in made.made:
                await consumer.stop()
            await producer.stop()
            await broker.stop()
            await admin.delete_topics(topics)
            await admin.close()
