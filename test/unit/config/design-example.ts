/** The configuration example of DESIGN.md "Interface", verbatim: the contract of the key names. */
export const DESIGN_EXAMPLE = `topicPrefix: org.fedoraproject.prod     # inbound topics match with or without it; own events are published under it
bus:
  transport: amqp                       # embedded | amqp | kafka
  amqp:
    url: amqps://fedora:@rabbitmq.fedoraproject.org/%2Fpublic_pubsub
    tls: { ca: cacert.pem, cert: fedora-cert.pem, key: fedora-key.pem }
    queue: relengd                      # durable quorum queue
    prefetch: 50
    bindings: []                        # extra binding keys; the streams' own topics are bound automatically
    deadLetter: relengd.dead            # queue receiving rejected messages, with the reason
    deliveryLimit: 5
  kafka: { brokers: [localhost:9092], groupId: relengd, topics: [] }
store: { path: /var/lib/relengd/relengd.db }
http: { host: 127.0.0.1, port: 8080 }   # /events ingest, /healthz, /readyz, /metrics, status page
jobs: { concurrency: 2, workdir: /var/lib/relengd/jobs, timeoutMinutes: 240 }
publishers:                             # who may send gating messages (AMQP user_id); absent = anyone
  greenwave.decision.update: [greenwave]
  relengd.release.approve: [releng]
streams:
  - id: f26-atomic-host-x86_64
    group: f26-atomic-host              # the streams of a group are promoted together (all arches)
    release: "26"
    arch: x86_64
    triggers: { updatesRepos: [f26-updates], tags: [f26-atomic] }
    ostree:
      repo: /srv/ostree/26
      ref: fedora/26/x86_64/updates/atomic-host
      treefile: fedora-atomic-host.json
      version: "{release}.{date}.{n}"   # n counts composes of the group that day
      compose: [rpm-ostree, compose, tree, "--repo={repo}", "--write-commitid-to={commitIdFile}",
                "--touch-if-changed={changedStamp}", "--add-metadata-string=version={version}", "{treefile}"]
    artifacts:                          # each builder writes into {outputDir}; \`output\` says which file is the artifact
      - { name: installer, kind: installer, platform: metal, format: iso, failable: true,
          output: "{outputDir}/images/boot.iso", command: [lorax, "...", "{outputDir}"] }
      - { name: qcow2, kind: image, platform: qemu, format: qcow2, failable: true,
          output: "{outputDir}/*.qcow2", command: [koji, image-build, "...", --wait] }
    promote:
      ref: fedora/26/x86_64/atomic-host
      accept: [FINISHED, FINISHED_INCOMPLETE]
      gates:
        - greenwave: { decisionContext: atomic_two_week }
        - resultsdb: { testcases: [atomic.host.smoke] }
        - approval: { topic: relengd.release.approve }
      fastForwardOnly: true
      summary: { gpgKey: null }
      deltas: true
      metadata: /srv/web/streams/f26-atomic-host.json
      baseUrl: https://example.org/pub/atomic/26/   # artifact locations in the metadata`;
