/** Configuration: schema (the reference documentation), parsing with env overrides, templates, OSTree refs. */
export { ConfigSchema, IMAGE_SIGN_REPLY_TOPIC, SIGN_REPLY_TOPIC } from './schema.ts';
export type {
  AmqpConfig,
  ApprovalGateConfig,
  ArtifactConfig,
  BusConfig,
  Config,
  ConfigInput,
  GateConfig,
  GreenwaveGateConfig,
  KafkaConfig,
  OciImageConfig,
  LogLevel,
  PromoteConfig,
  PungiTriggerConfig,
  ResultsdbGateConfig,
  RetentionConfig,
  ScheduleTriggerConfig,
  SignConfig,
  StreamConfig,
  TagTriggerConfig,
  WatchConfig,
} from './schema.ts';
export { ENV_OVERRIDES, configProblems, configSummary, formatKeyPath, parseConfig } from './parse.ts';
export type { ConfigSummary } from './parse.ts';
export { loadConfigFile } from './load.ts';
export { ARTIFACT_PLACEHOLDERS, COMPOSE_PLACEHOLDERS, VERSION_PLACEHOLDERS, expandTemplate, placeholdersIn } from './template.ts';
export { cronProblem, isTimeZone, latestSlot, nextSlot, type CronSpec } from './cron.ts';
export { MAX_REF_LENGTH, OstreeRef, isValidRef, refProblem } from './ostree-ref.ts';
export { IMAGE_DIGEST, IMAGE_TAG, digestReference, isImageDigest, isImageTag, isRepository, parseDigestReference, registryHost, repositoryProblem, tagReference } from './image-reference.ts';
