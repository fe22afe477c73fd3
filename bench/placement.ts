/**
 * Placement decisions per second on a 10 000-host cluster view, for one policy: the cluster is
 * filled to about 70 % with VMs of a 2008 EC2 size mix, then each step asks the policy for a host
 * for a new VM, places it there (evolve + capacity index) and terminates the oldest VM, so the
 * load stays level. What is timed is the decisions with their bookkeeping.
 * `constrained`: every decision goes through `place()` with host anti-affinity (groups of three
 * consecutive VMs) and admission control keeping a host's worth of capacity free.
 *
 *   node dist/bench/placement.js <policy> [hosts] [decisions] [constrained]
 */
import { Random } from "../src/kernel/random.js";
import { AntiAffinityGroups, place as placeConstrained, type PlacementConstraints } from "../src/placement/placement.js";
import { POLICIES, type PolicyName } from "../src/placement/policies.js";
import { indexedWorld, measure } from "./common.js";

const policyName = process.argv[2] as PolicyName;
const policy = POLICIES[policyName];
if (!policy) {
  process.stderr.write(`usage: placement.js ${Object.keys(POLICIES).join("|")} [hosts] [decisions]\n`);
  process.exit(2);
}
const hosts = Number(process.argv[3] ?? 10_000);
const decisions = Number(process.argv[4] ?? (policyName === "best-fit" ? 20_000 : 200_000));
const constrained = process.argv[5] === "constrained";
const constraints: PlacementConstraints = { antiAffinity: "host", failoverReserve: "host", storageAware: false };

const { world, index, emit: emitIndexed } = indexedWorld();
const groups = new AntiAffinityGroups();
let seq = 1_000_000_000;
const emit: typeof emitIndexed = (body) => {
  emitIndexed(body);
  if (constrained) groups.apply({ seq: ++seq, t: 0, ...body } as never);
};
const sizes = [
  { vcpus: 1, memoryGiB: 1.7, diskGiB: 160 },
  { vcpus: 2, memoryGiB: 1.7, diskGiB: 350 },
  { vcpus: 2, memoryGiB: 7.5, diskGiB: 850 },
];
const random = Random.fromSeed(1);
for (let i = 1; i <= hosts; i++) emit({ type: "hostAdded", host: `h${i}`, rack: `r${i % 50}`, vcpus: 16, memoryGiB: 64, diskGiB: 6000, disks: 4 });

const live: string[] = [];
let placements = 0;
let n = 0;
function place(): boolean {
  const size = sizes[random.int(sizes.length)]!;
  const vm = `vm-${++n}`;
  const group = `g${Math.ceil(n / 3)}`;
  emit({ type: "vmRequested", vm, ...size, lifetimeHours: null, ...(constrained ? { group } : {}) });
  const plan = constrained
    ? placeConstrained(policy, { index, placements, world, groups }, constraints, { ...size, disk: "local-raid", vm, group, volume: null, admission: true })
    : policy({ index, placements }, { ...size, disk: "local-raid" });
  if (!("host" in plan)) {
    emit({ type: "vmRejected", vm, reason: plan.refused });
    return false;
  }
  placements++;
  emit({ type: "vmPlaced", vm, host: plan.host, bootMs: 0 });
  live.push(vm);
  return true;
}
// Fill to about 70 % of the binding resource, local disk (mean VM 453 GB of 6 000 GB per host: ≈ 13 fit).
while (live.length < hosts * 9) place();
let oldest = 0;
await measure(`placement-${policyName}${constrained ? "-constrained" : ""} (${hosts} hosts)`, () => {
  for (let i = 0; i < decisions; i++) {
    place();
    emit({ type: "vmTerminated", vm: live[oldest++]!, volume: null });
  }
  return decisions;
});
