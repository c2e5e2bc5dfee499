// The simulated device's data: object instances and resource values, checked against the DDF
// models the server uses too. Read/write/create/delete/execute with LwM2M semantics and errors.
import type { LwM2mNode, ObjectInstance, Resource, ResourceValue } from '../../src/lwm2m/node.ts';
import type { ModelLookup } from '../../src/lwm2m/object-model.ts';
import { formatPath, type LwM2mPath } from '../../src/lwm2m/path.ts';

/** An LwM2M error the device answers with: 4.04, 4.05, 4.00 ... (class*32+detail as in CoAP). */
export class DeviceError extends Error {
  constructor(readonly coapCode: number, message: string) {
    super(message);
  }
}

const NOT_FOUND = (4 << 5) | 4;
const METHOD_NOT_ALLOWED = (4 << 5) | 5;
const BAD_REQUEST = 4 << 5;

export type ResourceData = ResourceValue | Map<number, ResourceValue>;
export type InstanceData = Map<number, ResourceData>;
export type ExecuteHandler = (instanceId: number, args: string) => void | Promise<void>;
export type ChangeListener = (path: LwM2mPath) => void;

export class ObjectStore {
  private readonly objects = new Map<number, Map<number, InstanceData>>();
  private readonly executors = new Map<string, ExecuteHandler>();
  private readonly writeHooks = new Map<string, (instanceId: number, value: ResourceData) => void>();
  private readonly writeGuards = new Map<string, (instanceId: number, value: ResourceData) => void>();
  private readonly createHooks = new Map<number, (instanceId: number) => void>();
  private readonly deleteHooks = new Map<number, (instanceId: number) => void>();
  private readonly listeners = new Set<ChangeListener>();

  constructor(readonly models: ModelLookup) {}

  onChange(l: ChangeListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  onExecute(objectId: number, resourceId: number, h: ExecuteHandler): void {
    this.executors.set(`${objectId}/${resourceId}`, h);
  }

  /** Called after a server write of that resource (any instance). */
  onWrite(objectId: number, resourceId: number, h: (instanceId: number, value: ResourceData) => void): void {
    this.writeHooks.set(`${objectId}/${resourceId}`, h);
  }

  /** Called before a server write of that resource is stored; throw a DeviceError to refuse it. */
  onBeforeWrite(objectId: number, resourceId: number, h: (instanceId: number, value: ResourceData) => void): void {
    this.writeGuards.set(`${objectId}/${resourceId}`, h);
  }

  /** Called after a server Create put the instance in place (to fill defaults); a throw undoes the Create. */
  onCreate(objectId: number, h: (instanceId: number) => void): void {
    this.createHooks.set(objectId, h);
  }

  /** Called before a server Delete removes an instance; throw a DeviceError to refuse it. */
  onDelete(objectId: number, h: (instanceId: number) => void): void {
    this.deleteHooks.set(objectId, h);
  }

  /** Device-side removal of an instance (observers of the object are told). */
  removeInstance(objectId: number, instanceId: number): void {
    if (this.objects.get(objectId)?.delete(instanceId)) this.changed([objectId]);
  }

  objectIds(): number[] {
    return [...this.objects.keys()].sort((a, b) => a - b);
  }

  instanceIds(objectId: number): number[] {
    return [...(this.objects.get(objectId)?.keys() ?? [])].sort((a, b) => a - b);
  }

  /** Declares an object even without instances (it is listed at registration). */
  defineObject(objectId: number): void {
    if (!this.models.object(objectId)) throw new Error(`object ${objectId} has no model`);
    if (!this.objects.has(objectId)) this.objects.set(objectId, new Map());
  }

  setInstance(objectId: number, instanceId: number, values: Record<number, ResourceData>): void {
    this.defineObject(objectId);
    const inst: InstanceData = new Map();
    for (const [k, v] of Object.entries(values)) inst.set(Number(k), v);
    this.objects.get(objectId)!.set(instanceId, inst);
    this.changed([objectId, instanceId]);
  }

  /** Device-side change of a value (a sensor reading, a state transition): observers are told. */
  set(path: LwM2mPath, value: ResourceData): void {
    const [o, i, r] = path;
    const inst = this.objects.get(o!)?.get(i!);
    if (!inst || r === undefined) throw new Error(`no instance at ${formatPath(path)}`);
    inst.set(r, value);
    this.changed([o!, i!, r]);
  }

  get(path: LwM2mPath): ResourceData | undefined {
    const [o, i, r] = path;
    return this.objects.get(o!)?.get(i!)?.get(r!);
  }

  private changed(path: LwM2mPath): void {
    for (const l of this.listeners) l(path);
  }

  private instance(objectId: number, instanceId: number): InstanceData {
    const inst = this.objects.get(objectId)?.get(instanceId);
    if (!inst) throw new DeviceError(NOT_FOUND, `no instance /${objectId}/${instanceId}`);
    return inst;
  }

  private readable(objectId: number, resourceId: number): boolean {
    const m = this.models.resource(objectId, resourceId);
    return m === undefined || m.operations.includes('R');
  }

  private resourceNode(objectId: number, id: number, data: ResourceData): Resource {
    const type = this.models.resource(objectId, id)?.type ?? 'opaque';
    if (data instanceof Map) return { kind: 'multiResource', id, type, values: Object.fromEntries(data) };
    return { kind: 'resource', id, type, value: data };
  }

  private instanceNode(objectId: number, instanceId: number): ObjectInstance {
    const inst = this.instance(objectId, instanceId);
    const resources: Resource[] = [];
    for (const [id, data] of [...inst.entries()].sort((a, b) => a[0] - b[0])) {
      if (this.readable(objectId, id)) resources.push(this.resourceNode(objectId, id, data));
    }
    return { kind: 'instance', id: instanceId, resources };
  }

  read(path: LwM2mPath): LwM2mNode {
    const [o, i, r, ri] = path;
    const obj = this.objects.get(o!);
    if (!obj) throw new DeviceError(NOT_FOUND, `no object /${o}`);
    if (i === undefined) return { kind: 'object', id: o!, instances: this.instanceIds(o!).map((id) => this.instanceNode(o!, id)) };
    if (r === undefined) return this.instanceNode(o!, i);
    const data = this.instance(o!, i).get(r);
    if (data === undefined) throw new DeviceError(NOT_FOUND, `no resource ${formatPath(path)}`);
    if (!this.readable(o!, r)) throw new DeviceError(METHOD_NOT_ALLOWED, `${formatPath(path)} is not readable`);
    const node = this.resourceNode(o!, r, data);
    if (ri === undefined) return node;
    if (node.kind !== 'multiResource' || node.values[ri] === undefined) throw new DeviceError(NOT_FOUND, `no resource instance ${formatPath(path)}`);
    return { kind: 'resourceInstance', id: ri, type: node.type, value: node.values[ri]! };
  }

  /** Write from the server: replace (PUT) or partial update (POST on an instance). Core §6.3.3. */
  write(path: LwM2mPath, node: LwM2mNode, replace: boolean): void {
    const [o, i, r, ri] = path;
    if (i === undefined) throw new DeviceError(METHOD_NOT_ALLOWED, 'write needs an instance or resource path');
    const inst = this.instance(o!, i);
    const writeResource = (res: Resource | { kind: 'resourceInstance'; id: number; value: ResourceValue }, rid: number, riid?: number): void => {
      const m = this.models.resource(o!, rid);
      if (m && !m.operations.includes('W')) throw new DeviceError(METHOD_NOT_ALLOWED, `/${o}/${i}/${rid} is not writable`);
      const guard = this.writeGuards.get(`${o}/${rid}`);
      if (guard && res.kind !== 'resourceInstance' && res.kind !== 'multiResource') guard(i, res.value);
      if (riid !== undefined && res.kind === 'resourceInstance') {
        const cur = inst.get(rid);
        const map = cur instanceof Map ? cur : new Map<number, ResourceValue>();
        map.set(riid, res.value);
        inst.set(rid, map);
      } else if (res.kind === 'multiResource') {
        const cur = inst.get(rid);
        const map = !replace && cur instanceof Map ? new Map(cur) : new Map<number, ResourceValue>();
        for (const [k, v] of Object.entries(res.values)) map.set(Number(k), v);
        inst.set(rid, map);
      } else if (res.kind === 'resource') {
        inst.set(rid, res.value);
      }
      this.writeHooks.get(`${o}/${rid}`)?.(i, inst.get(rid)!);
      this.changed([o!, i, rid]);
    };
    if (node.kind === 'instance') {
      if (r !== undefined) throw new DeviceError(BAD_REQUEST, 'an instance payload on a resource path');
      for (const res of node.resources) writeResource(res, res.id);
      return;
    }
    if (node.kind === 'resourceInstance') {
      writeResource(node, r!, ri ?? node.id);
      return;
    }
    if (node.kind === 'resource' || node.kind === 'multiResource') {
      writeResource(node, r ?? node.id);
      return;
    }
    throw new DeviceError(BAD_REQUEST, 'cannot write an object node');
  }

  create(objectId: number, node: LwM2mNode): number {
    const obj = this.objects.get(objectId);
    if (!obj) throw new DeviceError(NOT_FOUND, `no object /${objectId}`);
    if (node.kind !== 'instance') throw new DeviceError(BAD_REQUEST, 'Create takes an object instance');
    if (obj.has(node.id)) throw new DeviceError(BAD_REQUEST, `instance /${objectId}/${node.id} exists`);
    const model = this.models.object(objectId);
    if (model && !model.multiple && obj.size > 0) throw new DeviceError(BAD_REQUEST, `object ${objectId} is single-instance`);
    const inst: InstanceData = new Map();
    for (const r of node.resources) inst.set(r.id, r.kind === 'multiResource' ? new Map(Object.entries(r.values).map(([k, v]) => [Number(k), v])) : r.value);
    obj.set(node.id, inst);
    try {
      this.createHooks.get(objectId)?.(node.id);
    } catch (e) {
      obj.delete(node.id);
      throw e;
    }
    this.changed([objectId, node.id]);
    return node.id;
  }

  delete(path: LwM2mPath): void {
    const [o, i] = path;
    if (path.length !== 2) throw new DeviceError(METHOD_NOT_ALLOWED, 'Delete takes an instance path');
    if (o === 0 || o === 1 || o === 3) throw new DeviceError(METHOD_NOT_ALLOWED, `instances of object ${o} cannot be deleted`);
    const obj = this.objects.get(o!);
    if (!obj?.has(i!)) throw new DeviceError(NOT_FOUND, `no instance ${formatPath(path)}`);
    this.deleteHooks.get(o!)?.(i!);
    obj.delete(i!);
    this.changed([o!]);
  }

  async execute(path: LwM2mPath, args: string): Promise<void> {
    const [o, i, r] = path;
    if (path.length !== 3) throw new DeviceError(METHOD_NOT_ALLOWED, 'Execute takes a resource path');
    this.instance(o!, i!);
    const m = this.models.resource(o!, r!);
    if (!m || m.operations !== 'E') throw new DeviceError(METHOD_NOT_ALLOWED, `${formatPath(path)} is not executable`);
    const h = this.executors.get(`${o}/${r}`);
    if (!h) throw new DeviceError(NOT_FOUND, `${formatPath(path)} has no implementation`);
    await h(i!, args);
  }
}
