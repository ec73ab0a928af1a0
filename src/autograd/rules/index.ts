import './elementwise.js';
import './linalg.js';
import './nn.js';
import './reduce.js';
import './shape.js';
