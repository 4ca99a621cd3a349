/** Entry point: mounts the page. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('Expected an element with id "root" in index.html, but found none.');

createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
