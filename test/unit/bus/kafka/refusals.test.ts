/**
 * Which kafkajs errors fail relengd's start (and are never restarted from), built as kafkajs builds
 * them: a wrong SASL password cannot be provoked on librdkafka's mock cluster (it speaks no SASL),
 * and the rest are checked against the cluster in test/integration/kafka (refused, consumer-crash).
 */
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { isRefusal } from '../../../../src/bus/kafka/refusals.ts';

const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } = kafkajs;
// kafkajs's typings leave out constructor arguments these take.
const KafkaJSSASLAuthenticationError = kafkajs.KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error;
const KafkaJSNonRetriableError = kafkajs.KafkaJSNonRetriableError as unknown as new (e: Error, options: { cause: Error }) => Error;

/** A broker's answer, as kafkajs's protocol table makes it. */
const answered = (type: string, code: number) => new KafkaJSProtocolError(Object.assign(new Error(type), { type, code, retriable: false }));

describe('isRefusal', () => {
  it('refuses wrong credentials, missing permissions and an untrusted certificate, however deep kafkajs wrapped them', () => {
    expect(isRefusal(new KafkaJSSASLAuthenticationError('SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512'))).toBe(true);
    expect(isRefusal(answered('GROUP_AUTHORIZATION_FAILED', 30))).toBe(true);
    // How kafkajs's retrier hands on an error it does not retry.
    const denied = answered('TOPIC_AUTHORIZATION_FAILED', 29);
    expect(isRefusal(new KafkaJSNonRetriableError(denied, { cause: denied }))).toBe(true);
    const untrusted = new KafkaJSConnectionError('Connection error: unable to verify the first certificate', { broker: 'kafka:9093', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    expect(isRefusal(new KafkaJSNumberOfRetriesExceeded(untrusted, { retryCount: 8, retryTime: 30_000 }))).toBe(true);
    expect(isRefusal(new KafkaJSConnectionError('Connection error: wrong version number', { broker: 'kafka:9092', code: 'ERR_SSL_WRONG_VERSION_NUMBER' }))).toBe(true);
  });

  it('does not refuse what a rebalance or a broken connection brings: those are restarted', () => {
    expect(isRefusal(answered('INVALID_REQUEST', 42))).toBe(false);
    expect(isRefusal(answered('UNKNOWN', -1))).toBe(false);
    expect(isRefusal(answered('GROUP_MAX_SIZE_REACHED', 81))).toBe(false);
    expect(isRefusal(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092', { broker: '127.0.0.1:9092', code: 'ECONNREFUSED' }))).toBe(false);
    expect(isRefusal(new Error('anything else'))).toBe(false);
  });
});
