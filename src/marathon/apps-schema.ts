/**
 * JSON schema of GET /v2/apps?embed=apps.tasks: only what mlb-ts relies on is constrained;
 * everything else Marathon sends passes through, so a newer Marathon is still accepted.
 * The validator is generated from it ahead of time: `npm run gen:validator`.
 */
// Any values: a label that isn't a string is one app's bad label (the model says so), not a bad document.
const labels = { type: 'object' } as const;
const portNumber = { type: 'integer', minimum: 0, maximum: 65535 } as const;
const portList = { type: ['array', 'null'], items: { $ref: '#/$defs/portMapping' } } as const;

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
          id: { type: 'string' },
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
              portMappings: portList,
              docker: { type: 'object', properties: { network: { type: 'string' }, portMappings: portList } },
            },
          },
          // Legacy IP-per-task (Marathon ≤ 1.4): the ports are in discovery.
          ipAddress: {
            type: ['object', 'null'],
            properties: {
              discovery: {
                type: ['object', 'null'],
                properties: { ports: { type: ['array', 'null'], items: { type: 'object', properties: { number: portNumber, name: { type: 'string' }, protocol: { type: 'string' }, labels } } } },
              },
            },
          },
          healthChecks: {
            type: 'array',
            items: {
              type: 'object',
              // null: not set (older Marathons write absent fields as null).
              properties: {
                protocol: { type: ['string', 'null'] },
                path: { type: ['string', 'null'] },
                portIndex: { type: ['integer', 'null'], minimum: 0 },
                port: { ...portNumber, type: ['integer', 'null'] },
                intervalSeconds: { type: ['number', 'null'] },
                timeoutSeconds: { type: ['number', 'null'] },
                gracePeriodSeconds: { type: ['number', 'null'] },
                maxConsecutiveFailures: { type: ['number', 'null'] },
              },
            },
          },
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
