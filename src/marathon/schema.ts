import { Ajv, type ValidateFunction } from 'ajv';
import { MlbError } from '../errors.js';
import type { AppsDocument } from './types.js';

const labels = { type: 'object', additionalProperties: { type: 'string' } };
const portNumber = { type: 'integer', minimum: 0, maximum: 65535 };

/**
 * Only what mlb-ts relies on is constrained; everything else Marathon sends passes through,
 * so a newer Marathon with extra fields is still accepted.
 */
export const appsDocumentSchema = {
  type: 'object',
  required: ['apps'],
  properties: {
    apps: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id'],
        properties: {
          id: { type: 'string', minLength: 1 },
          labels,
          instances: { type: 'integer' },
          ports: { type: 'array', items: portNumber },
          portDefinitions: {
            type: 'array',
            items: { type: 'object', properties: { port: portNumber, protocol: { type: 'string' }, name: { type: 'string' }, labels } },
          },
          networks: { type: 'array', items: { type: 'object', properties: { mode: { type: 'string' }, name: { type: 'string' } } } },
          container: {
            type: ['object', 'null'],
            properties: {
              portMappings: { type: ['array', 'null'], items: { $ref: '#/$defs/portMapping' } },
              docker: {
                type: 'object',
                properties: {
                  network: { type: 'string' },
                  portMappings: { type: ['array', 'null'], items: { $ref: '#/$defs/portMapping' } },
                },
              },
            },
          },
          healthChecks: { type: 'array', items: { type: 'object' } },
          tasks: {
            type: 'array',
            items: {
              type: 'object',
              required: ['id'],
              properties: {
                id: { type: 'string' },
                host: { type: 'string' },
                ports: { type: 'array', items: portNumber },
                state: { type: 'string' },
                ipAddresses: { type: ['array', 'null'], items: { type: 'object', required: ['ipAddress'], properties: { ipAddress: { type: 'string' } } } },
                healthCheckResults: { type: 'array', items: { type: 'object' } },
              },
            },
          },
        },
      },
    },
  },
  $defs: {
    portMapping: {
      type: 'object',
      properties: { containerPort: portNumber, hostPort: portNumber, servicePort: portNumber, protocol: { type: 'string' }, name: { type: 'string' }, labels },
    },
  },
} as const;

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: false, strict: false }).compile(appsDocumentSchema);
  return compiled;
}

/** The document as Marathon apps, or E_INPUT_NOT_MARATHON naming the first offending path. */
export function asAppsDocument(doc: unknown, source: string): AppsDocument {
  const validate = validator();
  if (validate(doc)) return doc as AppsDocument;
  const err = validate.errors?.[0];
  const where = err ? `${err.instancePath || '/'} ${err.message ?? ''}`.trim() : 'unknown';
  throw new MlbError('E_INPUT_NOT_MARATHON', `${source} is not a Marathon apps document (GET /v2/apps?embed=apps.tasks): ${where}`);
}
