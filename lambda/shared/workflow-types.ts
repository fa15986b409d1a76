/** The training workflow's shapes, for the handlers: defined once in the contract module that lib/ shares. */
export * from '../../lib/private/contract/workflow';
