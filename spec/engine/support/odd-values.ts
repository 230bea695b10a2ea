/** Values a careless or hostile handler can throw, each made fresh (a Proxy is revoked once). */
export const oddValues: Record<string, () => unknown> = {
  'an Error whose message getter throws': () => {
    const error = new Error('hidden');
    Object.defineProperty(error, 'message', {
      get() {
        throw new Error('message getter');
      },
    });
    return error;
  },
  'an Error whose name getter throws': () => {
    const error = new RangeError('out of range');
    Object.defineProperty(error, 'name', {
      get() {
        throw new Error('name getter');
      },
    });
    return error;
  },
  'an Error whose stack and cause getters throw': () => {
    const error = new Error('deep');
    for (const key of ['stack', 'cause']) {
      Object.defineProperty(error, key, {
        get() {
          throw new Error(`${key} getter`);
        },
      });
    }
    return error;
  },
  'a circular object without prototype': () => {
    const value = Object.create(null) as Record<string, unknown>;
    value['self'] = value;
    return value;
  },
  'a revoked Proxy': () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return proxy;
  },
  'a revoked Proxy of an Error': () => {
    const { proxy, revoke } = Proxy.revocable(new Error('gone'), {});
    revoke();
    return proxy;
  },
  'a Proxy of an Error whose every trap throws': () =>
    new Proxy(new Error('trapped'), {
      get() {
        throw new Error('get trap');
      },
      ownKeys() {
        throw new Error('ownKeys trap');
      },
    }),
  'a thenable whose then getter throws': () => ({
    get then(): unknown {
      throw new Error('then getter');
    },
  }),
  'a thenable whose then throws': () => ({
    then() {
      throw new Error('then method');
    },
  }),
};
