/** JSON schema of GET /v2/apps?embed=apps.tasks: what mlb-ts relies on, nothing more. */
export const appsDocumentSchema = {
  type: 'object',
  required: [
    'apps'
  ],
  properties: {
    apps: {
      type: 'array',
      items: {
        type: 'object',
        required: [
          'id'
        ],
        properties: {
          id: {
            type: 'string'
          },
          labels: {
            type: 'object',
            additionalProperties: {
              type: 'string'
            }
          },
          instances: {
            type: 'integer'
          },
          ports: {
            type: 'array',
            items: {
              type: 'integer',
              minimum: 0,
              maximum: 65535
            }
          },
          portDefinitions: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                port: {
                  type: 'integer',
                  minimum: 0,
                  maximum: 65535
                },
                protocol: {
                  type: 'string'
                },
                name: {
                  type: 'string'
                },
                labels: {
                  type: 'object',
                  additionalProperties: {
                    type: 'string'
                  }
                }
              }
            }
          },
          networks: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                mode: {
                  type: 'string'
                },
                name: {
                  type: 'string'
                }
              }
            }
          },
          container: {
            type: [
              'object',
              'null'
            ],
            properties: {
              portMappings: {
                type: [
                  'array',
                  'null'
                ],
                items: {
                  $ref: '#/$defs/portMapping'
                }
              },
              docker: {
                type: 'object',
                properties: {
                  network: {
                    type: 'string'
                  },
                  portMappings: {
                    type: [
                      'array',
                      'null'
                    ],
                    items: {
                      $ref: '#/$defs/portMapping'
                    }
                  }
                }
              }
            }
          },
          healthChecks: {
            type: 'array',
            items: {
              type: 'object'
            }
          },
          tasks: {
            type: 'array',
            items: {
              type: 'object',
              required: [
                'id'
              ],
              properties: {
                id: {
                  type: 'string'
                },
                host: {
                  type: 'string'
                },
                ports: {
                  type: 'array',
                  items: {
                    type: 'integer',
                    minimum: 0,
                    maximum: 65535
                  }
                },
                state: {
                  type: 'string'
                },
                ipAddresses: {
                  type: [
                    'array',
                    'null'
                  ],
                  items: {
                    type: 'object',
                    required: [
                      'ipAddress'
                    ],
                    properties: {
                      ipAddress: {
                        type: 'string'
                      }
                    }
                  }
                },
                healthCheckResults: {
                  type: 'array',
                  items: {
                    type: 'object'
                  }
                }
              }
            }
          }
        }
      }
    }
  },
  $defs: {
    portMapping: {
      type: 'object',
      properties: {
        containerPort: {
          type: 'integer',
          minimum: 0,
          maximum: 65535
        },
        hostPort: {
          type: 'integer',
          minimum: 0,
          maximum: 65535
        },
        servicePort: {
          type: 'integer',
          minimum: 0,
          maximum: 65535
        },
        protocol: {
          type: 'string'
        },
        name: {
          type: 'string'
        },
        labels: {
          type: 'object',
          additionalProperties: {
            type: 'string'
          }
        }
      }
    }
  }
} as const;
