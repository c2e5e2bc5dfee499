// Object definitions as loaded from OMA DDF XML (LwM2M 1.1 TS Core Appendix D, DDF schema LWM2M.xsd).
import type { ResourceType } from './node.ts';

export type Operations = 'R' | 'W' | 'RW' | 'E' | 'NONE';

export type ResourceModel = {
  readonly id: number;
  readonly name: string;
  readonly operations: Operations;
  readonly multiple: boolean;
  readonly mandatory: boolean;
  readonly type: ResourceType;
  readonly rangeEnumeration?: string;
  readonly units?: string;
  readonly description?: string;
};

export type ObjectModel = {
  readonly id: number;
  readonly name: string;
  readonly urn?: string;
  readonly version: string;
  readonly lwm2mVersion?: string;
  readonly multiple: boolean;
  readonly mandatory: boolean;
  readonly description?: string;
  readonly resources: ReadonlyMap<number, ResourceModel>;
};

/** What codecs and validators need: look an object or a resource up by id. */
export type ModelLookup = {
  object(objectId: number): ObjectModel | undefined;
  resource(objectId: number, resourceId: number): ResourceModel | undefined;
};
