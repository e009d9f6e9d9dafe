/**
 * The accessors listeners use instead of reading message fields, on bodies copied from the
 * Fedora fixtures (each literal is parsed first, so it is also a valid message).
 */
import { describe, expect, it } from 'vitest';
import {
  BodhiComposeComplete,
  BodhiMashtaskComplete,
  BodhiUpdatesFedoraSync,
  bodhiRepoName,
  updatesRepoOf,
} from '../../../src/events/inbound/bodhi.ts';
import { decisionSubject, GreenwaveDecisionUpdate, policiesSatisfied } from '../../../src/events/inbound/greenwave.ts';
import { KojiRepoDone, KojiTag, KojiUntag, kojiNvrOf, kojiTagOf } from '../../../src/events/inbound/koji.ts';
import { composeStatusIsFinal } from '../../../src/events/inbound/pungi.ts';
import {
  ResultsdbResultNew,
  resultComposeId,
  resultItem,
  resultItemType,
  resultOutcome,
  resultTestcase,
} from '../../../src/events/inbound/resultsdb.ts';

describe('bodhi updatesRepoOf', () => {
  it('reports the repo and success of a compose.complete', () => {
    const body = BodhiComposeComplete.parse({ repo: 'f29-updates-testing', success: true, ctype: 'rpm', agent: 'releng' });
    expect(updatesRepoOf('bodhi.compose.complete', body)).toEqual({ repo: 'f29-updates-testing', success: true });
  });

  it('reports a failed compose as not successful', () => {
    const body = BodhiComposeComplete.parse({ agent: 'mohanboddu', success: false, repo: 'test_repo', ctype: 'container' });
    expect(updatesRepoOf('bodhi.compose.complete', body)).toEqual({ repo: 'test_repo', success: false });
  });

  it('reads the minimal Bodhi 2 mashtask.complete that has only repo and success', () => {
    const body = BodhiMashtaskComplete.parse({ success: false, repo: 'test_repo' });
    expect(updatesRepoOf('bodhi.mashtask.complete', body)).toEqual({ repo: 'test_repo', success: false });
  });

  it('names a synced repo f<release>-<repo> and treats the sync as a success', () => {
    const body = BodhiUpdatesFedoraSync.parse({ deleted: '1259', release: '29', raw_bytes: '2116251621', bytes: '1 GiB', repo: 'updates-testing' });
    expect(updatesRepoOf('bodhi.updates.fedora.sync', body)).toEqual({ repo: 'f29-updates-testing', success: true });
  });

  it('names the F21 atomic sync f21-atomic', () => {
    const body = BodhiUpdatesFedoraSync.parse({ bytes: '60.38M', deleted: '0', repo: 'atomic', release: '21' });
    expect(updatesRepoOf('bodhi.updates.fedora.sync', body).repo).toBe('f21-atomic');
  });

  it('keeps the modular suffix of the release in the synced repo name', () => {
    expect(bodhiRepoName('30m', 'updates')).toBe('f30m-updates');
  });
});

describe('koji accessors', () => {
  it('returns the tag a build entered', () => {
    const body = KojiTag.parse({ build_id: 1457909, name: 'http-parser', tag_id: 6446, instance: 'primary', tag: 'f31-updates-pending', user: 'bodhi', version: '2.9.3', owner: 'sgallagh', release: '1.fc31' });
    expect(kojiTagOf(body)).toBe('f31-updates-pending');
    expect(kojiNvrOf(body)).toBe('http-parser-2.9.3-1.fc31');
  });

  it('returns the tag a build left, also from the old shape without build_id', () => {
    const body = KojiUntag.parse({ release: '2.fc16', tag: 'f16-updates-pending', name: 'globus-gram-job-manager-sge', version: '1.5', user: 'bodhi', owner: 'ralph', tag_id: 216 });
    expect(kojiTagOf(body)).toBe('f16-updates-pending');
  });

  it('returns the tag whose repo was regenerated', () => {
    const body = KojiRepoDone.parse({ tag: 'f19-build', tag_id: 12345, repo_id: 23456 });
    expect(kojiTagOf(body)).toBe('f19-build');
  });
});

describe('pungi composeStatusIsFinal', () => {
  it('treats FINISHED, FINISHED_INCOMPLETE, DOOMED and TERMINATED as final', () => {
    for (const status of ['FINISHED', 'FINISHED_INCOMPLETE', 'DOOMED', 'TERMINATED']) expect(composeStatusIsFinal(status)).toBe(true);
  });

  it('treats STARTED as not final', () => {
    expect(composeStatusIsFinal('STARTED')).toBe(false);
  });
});

describe('greenwave accessors', () => {
  const current = {
    decision_context: 'osci_rhel8_development_nightly_compose_gate',
    product_version: 'rhel-8',
    subject: [{ 'productmd.compose.id': 'RHEL-9000' }],
    subject_type: 'compose',
    subject_identifier: 'RHEL-9000',
    policies_satisfied: true,
    previous: { policies_satisfied: false, summary: '1 of 1 required test results missing' },
    summary: 'All required tests passed',
  };
  const old = {
    policies_satisified: true,
    decision_context: 'bodhi_update_push_stable',
    product_version: 'fedora-27',
    applicable_policies: ['taskotron_release_critical_tasks_for_stable'],
    unsatisfied_requirements: [],
    subject: [{ item: 'libmtp-1.1.14-1.fc27', type: 'koji_build' }],
    summary: 'all required tests passed',
  };

  it('reads policies_satisfied from the current shape', () => {
    expect(policiesSatisfied(GreenwaveDecisionUpdate.parse(current))).toBe(true);
    expect(policiesSatisfied(GreenwaveDecisionUpdate.parse({ ...current, policies_satisfied: false }))).toBe(false);
  });

  it('treats the old misspelled policies_satisified as the decision', () => {
    expect(policiesSatisfied(GreenwaveDecisionUpdate.parse(old))).toBe(true);
    expect(policiesSatisfied(GreenwaveDecisionUpdate.parse({ ...old, policies_satisified: false }))).toBe(false);
  });

  it('prefers the correct spelling when both are present', () => {
    expect(policiesSatisfied(GreenwaveDecisionUpdate.parse({ ...current, policies_satisfied: false, policies_satisified: true }))).toBe(false);
  });

  it('rejects a decision with neither spelling, saying policies_satisfied is expected', () => {
    const { policies_satisfied: _, ...withoutOutcome } = current;
    const result = GreenwaveDecisionUpdate.safeParse(withoutOutcome);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['policies_satisfied']);
    expect(result.error?.issues[0]?.message).toContain('policies_satisfied');
  });

  it('takes the subject from subject_type and subject_identifier', () => {
    expect(decisionSubject(GreenwaveDecisionUpdate.parse(current))).toEqual({ type: 'compose', identifier: 'RHEL-9000' });
  });

  it('falls back to the legacy subject list when subject_identifier is missing', () => {
    expect(decisionSubject(GreenwaveDecisionUpdate.parse(old))).toEqual({ type: 'koji_build', identifier: 'libmtp-1.1.14-1.fc27' });
  });

  it('reads a compose subject given only as productmd.compose.id in the legacy list', () => {
    const { subject_type: _type, subject_identifier: _id, ...legacyOnly } = current;
    expect(decisionSubject(GreenwaveDecisionUpdate.parse(legacyOnly))).toEqual({ type: 'compose', identifier: 'RHEL-9000' });
  });
});

describe('resultsdb accessors', () => {
  const composeResult = {
    id: 1,
    testcase: { name: 'rtt.installability.validation' },
    outcome: 'PASSED',
    data: { item: ['RHEL-9000/unknown/x86_64'], 'productmd.compose.id': ['RHEL-9000'], type: ['compose'] },
    submit_time: '2021-02-15T13:31:35.000001',
  };
  const moduleResult = {
    id: 1,
    outcome: 'PASSED',
    testcase: { name: 'baseos-ci.redhat-module.tier1.functional' },
    data: { item: ['python36-3.6-820181204160430.17efdbc7'], type: ['redhat-module'] },
    submit_time: '2019-03-25T16:34:41.882620',
  };

  it('returns the outcome and the test case name', () => {
    const body = ResultsdbResultNew.parse(composeResult);
    expect(resultOutcome(body)).toBe('PASSED');
    expect(resultTestcase(body)).toBe('rtt.installability.validation');
  });

  it('returns the first value of the list-valued data.item as the item', () => {
    expect(resultItem(ResultsdbResultNew.parse(moduleResult))).toBe('python36-3.6-820181204160430.17efdbc7');
    expect(resultItemType(ResultsdbResultNew.parse(moduleResult))).toBe('redhat-module');
  });

  it('accepts data values given as plain strings', () => {
    const body = ResultsdbResultNew.parse({ ...moduleResult, data: { item: 'python36-3.6', type: 'redhat-module' } });
    expect(resultItem(body)).toBe('python36-3.6');
    expect(resultItemType(body)).toBe('redhat-module');
  });

  it('falls back to the compose id when a result has no item', () => {
    const body = ResultsdbResultNew.parse({ ...composeResult, data: { 'productmd.compose.id': ['RHEL-9000'] } });
    expect(resultItem(body)).toBe('RHEL-9000');
  });

  it('falls back to the NVR when a result has neither item nor compose id', () => {
    const body = ResultsdbResultNew.parse({ ...moduleResult, data: { original_spec_nvr: ['bash-5.0-1.fc31'] } });
    expect(resultItem(body)).toBe('bash-5.0-1.fc31');
  });

  it('returns no item when the data names no subject', () => {
    expect(resultItem(ResultsdbResultNew.parse({ ...moduleResult, data: {} }))).toBeUndefined();
  });

  it('returns the compose id of a compose result and none for a module result', () => {
    expect(resultComposeId(ResultsdbResultNew.parse(composeResult))).toBe('RHEL-9000');
    expect(resultComposeId(ResultsdbResultNew.parse(moduleResult))).toBeUndefined();
  });

  it('takes the item of a compose result without productmd.compose.id as its compose id', () => {
    const body = ResultsdbResultNew.parse({ ...composeResult, data: { item: ['Fedora-Rawhide-20180726.n.2'], type: ['compose'] } });
    expect(resultComposeId(body)).toBe('Fedora-Rawhide-20180726.n.2');
  });
});
