/** Errors that say what happened to a resource; the HTTP status is chosen at the edge. */
export abstract class DomainError extends Error {}

/** The resource does not exist, or belongs to someone else. */
export class NotFoundError extends DomainError {}

/** The resource exists but its state forbids the change. */
export class ConflictError extends DomainError {}

/** The request is well-formed but one of its values cannot be used. */
export class InvalidInputError extends DomainError {}
