/**
 * The Kafka transport (CloudEvents Kafka binding), on kafkajs. Every kafkajs import stays in this
 * folder, so moving to another client (@platformatic/kafka, Confluent's KafkaJS-compatible client)
 * touches nothing else.
 */
export { KafkaTransport, type KafkaTransportOptions, type KafkaTransportStats } from './transport.ts';
export { resolveTopics, topicsFor, type ResolvedTopics } from './topology.ts';
export { decode, encode, deadLetterCopy, ERROR_HEADER, TRANSPORT_NAME, type OutgoingRecord, type WireRecord } from './codec.ts';
export { KafkaPublishError, KafkaTransportError } from './errors.ts';
export type { ConsumerStats } from './consumer.ts';
export type { PublisherStats } from './publisher.ts';
export { readTopicsSince, type TopicReadOptions } from './time-reader.ts';
export { recordOfMessage, sendRecords } from './send.ts';
