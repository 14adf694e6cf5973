// The API's error codes in words a person understands (docs/api.md lists the codes; the server's
// messages already name the parameter, the value and what is allowed, so they are kept where they help).
// Never a stack trace: a failure the console does not expect still reads as a sentence with the request
// id that finds its cause in the server log.

export function explain(code, message, requestId, action) {
  const msg = (message || '').trim();
  const ref = requestId ? ` (request ${requestId})` : '';
  const family = (code || '').split('.')[0];
  switch (code) {
    case 'Network':
      return 'The server could not be reached. Check that teleoscope is running and that this address is right.';
    case 'BadAnswer':
      return `The server answered something the console does not understand (${msg}).`;
    case 'AuthFailure.SignatureFailure':
    case 'AuthFailure.SecretIdNotFound':
    case 'AuthFailure.InvalidSecretId':
      return 'That SecretId and SecretKey do not match a key of this server. Check both (teleoscope keys create prints them) and try again.';
    case 'AuthFailure.UnauthorizedOperation':
      return /csrf/i.test(msg)
        ? 'The console lost its security token. Reload the page.'
        : 'You are signed out: the session expired, was ended, or its key was deleted. Sign in again.';
    case 'RequestLimitExceeded':
      return 'Too many requests at once. Wait a second and try again.';
    case 'InternalError':
      return `The server failed to answer${ref}. Its log has the cause under that request id.`;
    case 'ServiceUnavailable':
      return 'The server cannot answer right now (its data store is unavailable or full). Try again shortly.';
    case 'UnsupportedOperation':
      return `Teleoscope does not offer this: ${msg}`;
    case 'InvalidAction':
      return `This server does not know the action ${action || ''}. Is the console newer than the server?`;
  }
  switch (family) {
    case 'ResourceNotFound':
      return `Not found: ${msg || 'it does not exist in this account'}.`.replace(/\.\.$/, '.');
    case 'InvalidParameter':
    case 'InvalidParameterValue':
    case 'MissingParameter':
    case 'UnknownParameter':
      return `That value is not accepted. ${msg}`;
    case 'OperationDenied':
      return `Not allowed: ${msg}`;
    case 'ResourceInUse':
    case 'LimitExceeded':
    case 'FailedOperation':
      return msg || code;
    case 'AuthFailure':
      return `Not authorised: ${msg}`;
  }
  return `${msg || 'The request failed'} (${code})${ref}.`;
}
