/**
 * The local trial of deploy/compose, minus the containers: relengd started with the compose file's
 * configuration and environment, its volumes and bind mounts as local directories, the image's files
 * from this repository, against this machine's RabbitMQ in place of the `rabbitmq` service.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfigFile } from '../../../src/config/index.ts';
import { ostree } from '../../helpers/executor-context.ts';
import { publishFedora } from '../../helpers/fedora-wire.ts';
import { runCli, spawnDaemon, type DaemonProcess } from '../../helpers/process.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { amqpUrl, brokerMissingReason, deleteTopology, plainConnection, testNames, titled, type TestNames } from '../../integration/amqp/broker.ts';
import { composeProject, serviceVolumes } from './compose-file.ts';
import { relocateConfig, setKey } from './config-paths.ts';
import { configArgument, containerfile, copiedFromRepository, imageCommand } from './deploy-files.ts';
import { probe } from './probe.ts';
import { stopsOnSigterm } from './stop.ts';

const env = { RELENGD_RELENG_TOKEN: 'trial-token-0123456789abcdef' };

describe.skipIf(brokerMissingReason !== null)(titled('the compose trial'), () => {
  let names: TestNames | undefined;
  let daemon: DaemonProcess | undefined;
  afterEach(async () => {
    if (daemon && daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
    daemon = undefined;
    if (names) await deleteTopology(names);
    names = undefined;
  });

  it('relengd consumes a Bodhi push from RabbitMQ, composes into its ostree volume and promotes once releng approves (an outsider cannot); /healthz and /readyz answer 200; SIGTERM ends it cleanly', { timeout: 90_000 }, async () => {
    const image = containerfile();
    const configPath = configArgument(imageCommand(image))!;
    const relengd = composeProject(env).services.relengd!;
    const root = tempDir();
    // Named volumes become directories; bind mounts stay where compose.yaml points; the image's files are this repository's.
    const local = new Map<string, string>(copiedFromRepository(image));
    local.set('/usr/bin/node-24', process.execPath);
    let configSource = '';
    for (const volume of serviceVolumes(relengd)) {
      if (volume.target === configPath) configSource = volume.source;
      else if (volume.named) {
        local.set(volume.target, join(root, volume.source));
        mkdirSync(join(root, volume.source), { recursive: true });
      } else local.set(volume.target, volume.source);
    }
    const run = testNames('compose');
    names = run;
    const file = join(root, 'relengd.yaml');
    // The shared broker: a queue and a topic prefix of this test's own.
    const text = relocateConfig(readFileSync(configSource, 'utf8'), local, (data) => {
      setKey(data, ['bus', 'amqp', 'queue'], run.queue);
      setKey(data, ['bus', 'amqp', 'deadLetter'], run.deadLetter);
      setKey(data, ['topicPrefix'], run.prefix);
    });
    writeFileSync(file, text);
    const config = loadConfigFile(file, {});

    daemon = await spawnDaemon(file, { ...relengd.environment, AMQP_URL: amqpUrl, RELENGD_HTTP_PORT: '0' });
    const health = new URL(relengd.healthcheck!.test.find((a) => /^https?:/.test(a))!);
    expect(await probe(daemon.url, health.pathname)).toMatchObject({ status: 200 });
    expect(await probe(daemon.url, '/readyz')).toMatchObject({ status: 200, body: expect.stringContaining('"connected":true') });

    const { connection, channel } = await plainConnection();
    try {
      await publishFedora(channel, [{ topic: `${run.prefix}.bodhi.compose.complete`, id: 'trial-push-1', body: { repo: 'f26-updates', success: true, ctype: 'rpm', agent: 'bodhi' } }]);
    } finally {
      await connection.close();
    }
    const stream = config.streams[0]!;
    const refFile = join(stream.ostree.repo, 'refs', 'heads', stream.ostree.ref);
    await vi.waitFor(() => expect(existsSync(refFile)).toBe(true), { timeout: 60_000, interval: 250 });
    expect(ostree('rev-parse', `--repo=${stream.ostree.repo}`, stream.ostree.ref)).toMatch(/^[0-9a-f]{64}$/);
    expect(stream.ostree.repo.startsWith(root), 'the repository is on the ostree volume').toBe(true);

    // The trial's approval gate: the token compose.yaml passes is `releng`'s; without it the approval is refused.
    const metadata = (key: string, ref: string) => ostree('show', `--repo=${stream.ostree.repo}`, `--print-metadata-key=${key}`, ref).replace(/^'|'$/g, '');
    const version = metadata('version', stream.ostree.ref);
    const url = daemon.url.replace('://0.0.0.0:', '://127.0.0.1:');
    const approve = ['approve', '--group', stream.group, '--version', version, '--url', url];
    const outsider = await runCli(approve, { RELENGD_TOKEN: '' });
    expect(outsider.code).toBe(1);
    expect(outsider.stdout + outsider.stderr).toMatch(/refused .*accepted only from releng/);
    const tokenFile = join(root, 'releng.token');
    writeFileSync(tokenFile, `${relengd.environment!.RELENGD_RELENG_TOKEN}\n`);
    expect(await runCli([...approve, '--token-file', tokenFile])).toMatchObject({ code: 0 });
    const released = join(stream.ostree.repo, 'refs', 'heads', stream.promote!.ref);
    await vi.waitFor(() => expect(existsSync(released)).toBe(true), { timeout: 60_000, interval: 250 });
    // The candidate is bound to the updates ref: the release ref gets a promotion commit that names it.
    expect(metadata('relengd.source-commit', stream.promote!.ref)).toBe(ostree('rev-parse', `--repo=${stream.ostree.repo}`, stream.ostree.ref));

    const grace = Number(/^(\d+)s$/.exec(relengd.stop_grace_period ?? '10s')![1]);
    expect(await stopsOnSigterm(daemon, grace * 1000)).toBe(0);
  });
});
