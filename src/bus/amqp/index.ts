/** The RabbitMQ transport (Fedora Messaging wire format). */
export { AmqpTransport, type AmqpTransportOptions, type AmqpTransportStats } from './transport.ts';
export { bindingKeysFor, declareTopology, queueArguments, TOPIC_EXCHANGE, type TopologySpec } from './topology.ts';
export { decode, encode, deadLetterCopy, fedoraSchemaName, fedoraSentAt, wireIdOf, ERROR_HEADER, TRANSPORT_NAME, type AmqpMessage, type EncodedMessage, type WireMessage } from './codec.ts';
export { AmqpError, PublishFailedError } from './errors.ts';
export { assertTlsFilesReadable } from './connection.ts';
export { readStream, type StreamReadOptions } from './stream-reader.ts';
export { fedoraWireOf, sendMessages, type OutgoingMessage } from './send.ts';
export type { ConsumerStats } from './consumer.ts';
export type { PublisherStats } from './publisher.ts';
