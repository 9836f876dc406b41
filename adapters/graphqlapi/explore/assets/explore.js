// Boots GraphiQL against this server's GraphQL endpoint. It lives in its
// own file rather than an inline <script> so the page runs under a
// Content-Security-Policy that allows scripts from 'self' only.
(function () {
  'use strict';

  var root = document.getElementById('graphiql');
  // The endpoint is written in index.html relative to the page, like the
  // asset URLs, so a path prefix added by a proxy carries over.
  var endpoint = new URL(root.getAttribute('data-endpoint'), document.baseURI).href;

  function fail(message) {
    root.textContent = '';
    var p = document.createElement('p');
    p.className = 'explore-message';
    p.textContent = message;
    root.appendChild(p);
  }

  if (!window.React || !window.ReactDOM || !window.GraphiQL) {
    fail('The GraphQL explorer could not load its scripts.');
    return;
  }

  // GraphiQL learns the schema (for the docs pane, completion and
  // validation) from graphql-js's standard introspection query, whose
  // type references nest 14 fields deep. The API refuses queries deeper
  // than 12, so the explorer names its introspection operation and the
  // fetcher sends this query in its place: the same fields with six
  // levels of ofType, enough for types wrapped up to six times, such as
  // [[T!]!]!. explore_test.go runs it against the API's schema.
  var introspectionName = 'GoAlertExplorerIntrospection';
  var introspectionQuery = `
query GoAlertExplorerIntrospection {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives {
      name
      description
      locations
      args { ...InputValue }
    }
  }
}

fragment FullType on __Type {
  kind
  name
  description
  fields(includeDeprecated: true) {
    name
    description
    args { ...InputValue }
    type { ...TypeRef }
    isDeprecated
    deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) {
    name
    description
    isDeprecated
    deprecationReason
  }
  possibleTypes { ...TypeRef }
}

fragment InputValue on __InputValue {
  name
  description
  type { ...TypeRef }
  defaultValue
}

fragment TypeRef on __Type {
  kind
  name
  ofType {
    kind
    name
    ofType {
      kind
      name
      ofType {
        kind
        name
        ofType {
          kind
          name
          ofType {
            kind
            name
            ofType {
              kind
              name
            }
          }
        }
      }
    }
  }
}
`;

  // A plain fetcher instead of GraphiQL.createFetcher: the API answers
  // JSON only, and this keeps the request explicit. credentials
  // 'same-origin' sends the session cookie; headers typed into GraphiQL's
  // header editor (an Authorization token, say) are added to the request.
  function fetcher(params, opts) {
    if (params.operationName === introspectionName) {
      params = { query: introspectionQuery, operationName: introspectionName };
    }
    var headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    var extra = (opts && opts.headers) || {};
    Object.keys(extra).forEach(function (k) {
      headers[k] = extra[k];
    });
    return fetch(endpoint, {
      method: 'POST',
      headers: headers,
      body: JSON.stringify(params),
      credentials: 'same-origin',
    }).then(function (res) {
      return res.text().then(function (text) {
        try {
          return JSON.parse(text);
        } catch (e) {
          // A proxy's HTML error page, for example: show it as a GraphQL
          // error rather than a JSON parse failure.
          return { errors: [{ message: 'HTTP ' + res.status + ': ' + text.slice(0, 500) }] };
        }
      });
    });
  }

  var defaultQuery = [
    '# Queries go to ' + new URL(endpoint).pathname,
    '# with your session cookie.',
    '# Ctrl-Enter runs one; Docs lists',
    '# every type and field.',
    '',
    'query {',
    '  user {',
    '    id',
    '    name',
    '  }',
    '}',
    '',
  ].join('\n');

  root.textContent = '';
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      introspectionQueryName: introspectionName,
      defaultQuery: defaultQuery,
      // Headers often carry tokens; keep them out of localStorage.
      shouldPersistHeaders: false,
    })
  );
})();
